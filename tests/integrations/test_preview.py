"""The mapping preview in admin: what the last 20 deliveries of an integration would
produce under mappings being edited, with nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.models import Delivery, Integration, PriorityMapping
from integrations.preview import deliveries_preview, parse_mapping
from metrics.models import Incident, Ticket
from tests.integrations.conftest import post
from tests.integrations.test_jira import SECRET as JIRA_SECRET
from tests.integrations.test_jira import issue_event
from tests.integrations.test_jira import send as jira_send

pytestmark = pytest.mark.django_db


def alert(service: str, fingerprint: str) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "portal",
        "groupKey": "{}:{}",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Down", "service": service, "severity": "critical"},
                "annotations": {"summary": f"{service} is down"},
                "startsAt": "2026-03-02T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": fingerprint,
            }
        ],
    }


@pytest.fixture
def monitoring(shop: Any, api: Any, at_noon: Any) -> Integration:
    integration = Integration.objects.create(kind="alertmanager", name="prom")
    client = api("ingest")
    for i in range(22):
        body = alert("api-gw" if i % 2 else "api", f"{i:016x}")
        post(client, "/api/v1/integrations/alertmanager/?integration=prom", body)
    return integration


def test_the_preview_resolves_services_under_the_edited_mapping(monitoring: Any) -> None:
    stored = Incident.objects.count()
    assert stored == 11  # 'api-gw' is no service yet: those alerts were skipped
    before = deliveries_preview(monitoring, services={}, customers={}, priorities={})
    after = deliveries_preview(monitoring, services={"api-gw": "api"}, customers={}, priorities={})
    assert len(after) == 20
    assert sum(len(row.records) for row in before) == 10
    assert sum(len(row.skipped) for row in before) == 10
    reasons = {s["reason"] for row in before for s in row.skipped}
    assert all("unknown service 'api-gw'" in reason for reason in reasons)
    assert sum(len(row.records) for row in after) == 20
    assert {r["service"] for row in after for r in row.records} == {"api"}
    # Nothing is stored by a preview.
    assert Incident.objects.count() == stored
    assert not monitoring.mappings.exists()


def test_the_preview_of_a_ticketing_tool_maps_customers_and_priorities(
    shop: Any, at_noon: Any
) -> None:
    desk = Integration.objects.create(kind="jira", name="jira-desk", secret=JIRA_SECRET)
    PriorityMapping.objects.create(integration=desk, external_name="Highest", priority="P1")
    jira_send(issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00"))
    assert not Ticket.objects.exists()  # project SHOP is no customer yet
    [row] = deliveries_preview(
        desk, services={}, customers={"SHOP": "shop-co"}, priorities={"Highest": "P2"}
    )
    assert [(r["customer"], r["priority"], r["external_id"]) for r in row.records] == [
        ("shop-co", "P2", "SHOP-7")
    ]
    assert not Ticket.objects.exists()


def test_a_body_not_kept_whole_is_named(shop: Any) -> None:
    desk = Integration.objects.create(kind="zendesk", name="zd")
    Delivery.objects.create(kind="zendesk", integration=desk, status_code=200, body='{"type": ')
    [row] = deliveries_preview(desk, services={}, customers={}, priorities={})
    assert "not whole JSON" in row.problem


def test_mapping_lines_are_parsed_and_bad_ones_named() -> None:
    assert parse_mapping("# comment\napi-gw = api\n\nShop Desk = shop-co", "services") == {
        "api-gw": "api",
        "Shop Desk": "shop-co",
    }
    with pytest.raises(ValueError, match="customers, line 2"):
        parse_mapping("a = b\nno equals sign", "customers")


def test_the_admin_page_previews_without_storing(monitoring: Any, admin_client: Any) -> None:
    url = f"/admin/integrations/integration/{monitoring.pk}/preview/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"Preview" in page.content
    page = admin_client.post(url, {"services": "api-gw = api", "customers": "", "priorities": ""})
    assert page.status_code == 200
    assert page.content.count(b"service <code>api</code>") == 20
    assert not monitoring.mappings.exists()
    page = admin_client.post(url, {"services": "nonsense", "customers": "", "priorities": ""})
    assert b"services, line 1" in page.content
    change = admin_client.get(f"/admin/integrations/integration/{monitoring.pk}/change/")
    assert url.encode() in change.content


def test_deliveries_keep_a_whole_jira_body(shop: Any, at_noon: Any) -> None:
    Integration.objects.create(kind="jira", name="jira-desk", secret=JIRA_SECRET)
    body = issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00")
    body["issue"]["fields"]["description"] = "x" * 20000  # Jira bodies are long
    jira_send(body)
    assert json.loads(Delivery.objects.get().body)["issue"]["key"] == "SHOP-7"
