"""POST /api/v1/integrations/alertmanager/ with the payloads Alertmanager (webhook_config,
version 4) and Grafana's webhook contact point document."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from agreements.models import Service
from agreements.services import agreement_import
from credits.models import Evaluation
from credits.recompute import recompute_agreement
from integrations.models import Delivery, Integration, ServiceMapping
from metrics.models import Incident, IncidentUpdate, IngestionBatch
from tests.integrations.conftest import post, shop_doc

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/alertmanager/"
ZERO = "0001-01-01T00:00:00Z"


def alert(**over: Any) -> dict[str, Any]:
    """One alert as Alertmanager's webhook documents it (Go's RFC 3339 with nanoseconds)."""
    body = {
        "status": "firing",
        "labels": {
            "alertname": "ProbeFailure",
            "instance": "https://api.shop.example",
            "job": "blackbox",
            "service": "api",
            "severity": "critical",
        },
        "annotations": {
            "description": "https://api.shop.example has been down for over 1m.",
            "summary": "API probe failure",
        },
        "startsAt": "2026-03-02T10:00:00.123456789Z",
        "endsAt": ZERO,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=probe_success+%3D%3D+0",
        "fingerprint": "1a30ba71cca2921f",
    }
    body.update(over)
    return body


def envelope(*alerts: dict[str, Any]) -> dict[str, Any]:
    """The version 4 envelope around ``alerts``."""
    return {
        "receiver": "sla-portal",
        "status": "resolved" if all(a["status"] == "resolved" for a in alerts) else "firing",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": {"alertname": "ProbeFailure", "job": "blackbox"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": '{}:{alertname="ProbeFailure"}',
        "truncatedAlerts": 0,
    }


def resolved(**over: Any) -> dict[str, Any]:
    return alert(status="resolved", endsAt="2026-03-02T10:30:00.5Z", **over)


@pytest.fixture
def client(api: Any) -> APIClient:
    return api("ingest")


def test_a_firing_alert_opens_an_incident(client: APIClient, shop: Any, at_noon: Any) -> None:
    response = post(client, URL, envelope(alert()))
    assert response.status_code == 200, response.json()
    assert response.json() == {"accepted": 1, "skipped": []}
    incident = Incident.objects.get()
    assert incident.service.key == "api"
    assert incident.external_id == "1a30ba71cca2921f@2026-03-02T10:00:00.123456+00:00"
    assert incident.title == "API probe failure"
    assert incident.impact == "outage"
    assert incident.started_at == dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert incident.resolved_at is None
    batch = IngestionBatch.objects.get()
    assert (batch.kind, batch.endpoint, batch.accepted) == ("incidents", URL, 1)


def test_resolution_updates_it_and_the_same_body_twice_stores_nothing(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    post(client, URL, envelope(alert()))
    body = envelope(resolved())
    assert post(client, URL, body).json() == {"accepted": 1, "skipped": []}
    updates = IncidentUpdate.objects.count()
    assert post(client, URL, body).json() == {"accepted": 0, "skipped": []}
    incident = Incident.objects.get()
    assert incident.resolved_at == dt.datetime(2026, 3, 2, 10, 30, 0, 500000, tzinfo=dt.UTC)
    assert IncidentUpdate.objects.count() == updates


def test_a_refired_alert_is_a_new_incident(client: APIClient, shop: Any, at_noon: Any) -> None:
    post(client, URL, envelope(resolved()))
    post(client, URL, envelope(alert(startsAt="2026-03-02T11:00:00Z")))
    assert Incident.objects.count() == 2
    assert Incident.objects.filter(resolved_at=None).get().started_at.hour == 11


def test_severity_decides_the_impact(client: APIClient, shop: Any, at_noon: Any) -> None:
    warning = alert(fingerprint="b2", labels={**alert()["labels"], "severity": "warning"})
    post(client, URL, envelope(warning))
    assert Incident.objects.get().impact == "degraded"
    Integration.objects.create(
        kind="alertmanager", name="prom", outage_severities="critical, warning"
    )
    post(client, URL, envelope(dict(warning, startsAt="2026-03-02T11:00:00Z")))
    assert Incident.objects.get(started_at__hour=11).impact == "outage"


def test_unknown_service_is_skipped_with_its_reason(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    other = alert(fingerprint="ff", labels={"alertname": "X", "service": "nowhere"})
    no_label = alert(fingerprint="ee", labels={"alertname": "Y"})
    response = post(client, URL, envelope(other, alert(), no_label))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [s["index"] for s in body["skipped"]] == [0, 2]
    assert "unknown service 'nowhere'" in body["skipped"][0]["reason"]
    assert "no label 'service'" in body["skipped"][1]["reason"]
    assert Incident.objects.count() == 1


def test_a_mapping_names_the_service_by_another_label(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    prom = Integration.objects.create(kind="alertmanager", name="prom", service_label="job")
    ServiceMapping.objects.create(
        integration=prom, external_name="blackbox", service=Service.objects.get(key="api")
    )
    response = post(client, URL + "?integration=prom", envelope(alert(labels={"job": "blackbox"})))
    assert response.json() == {"accepted": 1, "skipped": []}
    assert Incident.objects.get().service.key == "api"
    assert Delivery.objects.get().integration == prom


def test_grafana_contact_point_payload(client: APIClient, shop: Any, at_noon: Any) -> None:
    grafana = {
        "receiver": "sla-portal",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "High error rate", "service": "api"},
                "annotations": {"summary": "Error rate above 5 %"},
                "startsAt": "2026-03-02T10:51:03.157076+01:00",
                "endsAt": ZERO,
                "generatorURL": "https://grafana.example/alerting/grafana/abc/view",
                "fingerprint": "c6eadffa33fcdf37",
                "silenceURL": "https://grafana.example/alerting/silence/new",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"B": 44.2, "C": 1},
                "valueString": "[ var='B' value=44.2 ]",
            }
        ],
        "groupLabels": {"alertname": "High error rate"},
        "commonLabels": {"alertname": "High error rate", "service": "api"},
        "commonAnnotations": {"summary": "Error rate above 5 %"},
        "externalURL": "https://grafana.example/",
        "version": "1",
        "groupKey": '{}:{alertname="High error rate"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] High error rate",
        "state": "alerting",
        "message": "**Firing**",
    }
    assert post(client, URL, grafana).json() == {"accepted": 1, "skipped": []}
    incident = Incident.objects.get()
    # The offset is honoured: 10:51 at +01:00 is 09:51 UTC; no severity label: degraded.
    assert incident.started_at == dt.datetime(2026, 3, 2, 9, 51, 3, 157076, tzinfo=dt.UTC)
    assert incident.impact == "degraded"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"{not json", "body", "not valid JSON"),
        ([1, 2], "body", "must be an object"),
        ({"version": "4"}, "alerts", "is required"),
        ({"alerts": {"a": 1}}, "alerts", "must be a list"),
        (envelope(alert(), alert(startsAt="yesterday")), "alerts[1].startsAt", "RFC 3339"),
        (envelope(alert(), alert(status="pending")), "alerts[1].status", "firing or resolved"),
        (
            envelope({k: v for k, v in alert().items() if k != "fingerprint"}),
            "alerts[0].fingerprint",
            "required",
        ),
        (envelope(alert(startsAt="2026-03-09T10:00:00Z")), "alerts[0].startsAt", "future"),
        (
            envelope(alert(status="resolved", endsAt="2026-03-02T09:00:00Z")),
            "alerts[0].endsAt",
            "before started_at",
        ),
    ],
)
def test_malformed_bodies_store_nothing(
    client: APIClient, shop: Any, at_noon: Any, body: Any, field: str, words: str
) -> None:
    response = post(client, URL, body)
    assert response.status_code == 400, response.json()
    problem = response.json()["errors"][0]
    assert problem["field"] == field
    assert words in problem["message"]
    assert field in response.json()["error"]
    assert not Incident.objects.exists()
    assert Delivery.objects.get().status_code == 400


def test_keys_and_scopes(api: Any, shop: Any, at_noon: Any) -> None:
    assert post(APIClient(), URL, envelope(alert())).status_code == 401
    assert post(api("read"), URL, envelope(alert())).status_code == 403
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert post(bad, URL, envelope(alert())).status_code == 401
    assert not Incident.objects.exists()
    assert sorted(Delivery.objects.values_list("status_code", flat=True)) == [401, 401, 403]


def test_measured_by_skips_services_that_name_other_sources(
    client: APIClient, at_noon: Any
) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        agreement_import(data=shop_doc(measured_by=["blackbox-only"]))
    body = post(client, URL, envelope(alert())).json()
    assert body["accepted"] == 0
    assert "measured_by" in body["skipped"][0]["reason"]
    assert not Incident.objects.exists()


def test_a_customer_key_cannot_write_another_customers_service(
    api: Any, shop: Any, other_agreement: Any, at_noon: Any
) -> None:
    client = api("ingest", customer=other_agreement.customer)
    body = post(client, URL, envelope(alert())).json()
    assert body["accepted"] == 0
    assert "unknown service 'api'" in body["skipped"][0]["reason"]


def test_the_outage_gives_the_figure_a_hand_calculation_gives(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    post(client, URL, envelope(alert(startsAt="2026-03-02T10:00:00Z")))
    post(
        client,
        URL,
        envelope(
            alert(status="resolved", startsAt="2026-03-02T10:00:00Z", endsAt="2026-03-02T10:30:00Z")
        ),
    )
    recompute_agreement(agreement_id=shop.pk, period="2026-03")
    evaluation = Evaluation.objects.get(objective_key="api-up")
    # 36 hours of March have passed at noon on the 2nd: 2160 minutes, 30 of them down.
    expected = Decimal(2130) / Decimal(2160) * 100
    assert evaluation.achieved is not None
    assert abs(evaluation.achieved - expected) < Decimal("0.0001")
    assert evaluation.bad == 30 * 60  # seconds down


def test_a_repeated_firing_notice_never_reopens_a_resolved_alert(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    assert post(client, URL, envelope(alert())).json()["accepted"] == 1
    assert post(client, URL, envelope(resolved())).json()["accepted"] == 1
    # A retry, a replay or a late delivery of the firing notice, after the resolution.
    again = post(client, URL, envelope(alert()))
    assert again.status_code == 200
    assert again.json()["accepted"] == 0
    assert "was resolved at" in again.json()["skipped"][0]["reason"]
    assert Incident.objects.get().resolved_at is not None


def test_a_delivery_over_the_batch_limit_is_413_and_stores_nothing(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    from metrics.ingest import MAX_RECORDS

    many = [alert(fingerprint=f"{n:016x}") for n in range(MAX_RECORDS + 1)]
    response = post(client, URL, envelope(*many))
    assert response.status_code == 413
    assert f"at most {MAX_RECORDS}" in response.json()["error"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("[" * 5000 + "]" * 5000, "nests too deeply"),
        (b'{"alerts": "\xff"}', "UTF-8"),
    ],
)
def test_unreadable_bodies_are_named_plainly(
    client: APIClient, shop: Any, at_noon: Any, raw: Any, words: str
) -> None:
    response = client.post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert words in response.json()["error"]
