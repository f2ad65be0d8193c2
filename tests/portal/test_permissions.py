"""The permission matrix: every API endpoint × every persona, with the status each gets.

SPEC §4, Authority: terms, exclusions and restatements are the provider's; a key bound
to a customer claims, acknowledges and registers webhooks for its own customer only,
and another customer's objects are a 404, never a 403 that says they exist.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.test import APIClient

from agreements.document import validate
from agreements.models import ApiKey, Customer
from agreements.services import agreement_import
from contracts.models import Amendment
from notifications.models import Escalation, WebhookEndpoint
from tests.notifications.conftest import ingest_incident

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.216.34/hooks/sla"  # a literal public address: no DNS needed

# Persona: (scopes, bound to) — "acme" owns the objects below, "globex" is another customer.
# The customer's write key holds every scope, to show what no scope lets a customer do.
PERSONAS: dict[str, tuple[list[str], str | None] | None] = {
    "none": None,
    "provider-write": (["write"], None),
    "provider-read": (["read"], None),
    "ingest": (["ingest"], None),
    "customer-write": (["read", "write", "ingest"], "acme"),
    "customer-read": (["read"], "acme"),
    "other-customer": (["read", "write", "ingest"], "globex"),
}
COLUMNS = list(PERSONAS)

A = "/api/v1/agreements/acme-hosting"


def _ts(hours_ago: float) -> str:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ingest_bodies() -> dict[str, list[dict[str, Any]]]:
    ts = _ts(1)
    return {
        "probes": [{"service": "hosted-api", "ts": ts, "ok": True, "latency_ms": 120}],
        "events": [{"service": "backbone", "ts": ts, "good": 9, "total": 10}],
        "samples": [{"service": "backbone", "metric": "throughput_mbps", "ts": ts, "value": 9}],
        "tickets": [{"customer": "acme", "external_id": "T-1", "priority": "P1", "opened_at": ts}],
        "incidents": [
            {
                "service": "hosted-api",
                "external_id": "INC-9",
                "title": "API down",
                "impact": "outage",
                "started_at": ts,
            }
        ],
        "maintenance": [
            {
                "service": "hosted-api",
                "external_id": "MW-1",
                "title": "DB upgrade",
                "start": ts,
                "end": _ts(0.5),
                "announced_at": ts,
            }
        ],
        "alertmanager": {  # type: ignore[dict-item]
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "Down", "service": "hosted-api"},
                    "annotations": {},
                    "startsAt": ts,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": "a1",
                }
            ],
        },
        "uptime-kuma": {"heartbeat": None, "monitor": None, "msg": "test"},  # type: ignore[dict-item]
        "pagerduty": {  # type: ignore[dict-item]
            "event": {
                "event_type": "incident.triggered",
                "occurred_at": ts,
                "data": {"id": "P1", "title": "Down", "service": {"summary": "hosted-api"}},
            }
        },
        "jira": {  # type: ignore[dict-item]
            "webhookEvent": "jira:issue_created",
            "issue": {
                "key": "ACME-1",
                "fields": {
                    "project": {"key": "acme"},
                    "priority": {"name": "P1"},
                    "status": {"name": "Open"},
                    "created": ts,
                    "updated": ts,
                },
            },
        },
        "zendesk": {  # type: ignore[dict-item]
            "type": "zen:event-type:ticket.created",
            "time": ts,
            "detail": {"id": "1", "status": "NEW", "organization_id": "acme", "created_at": ts},
        },
    }


# (method, path, body, statuses in COLUMNS order:
#   none, provider-write, provider-read, ingest, customer-write, customer-read, other-customer)
MATRIX: list[tuple[str, str, Any, list[int]]] = [
    ("get", "/api/v1/", None, [200, 200, 200, 200, 200, 200, 200]),
    ("get", "/api/v1/agreements/", None, [401, 403, 200, 403, 200, 200, 200]),
    ("get", f"{A}/", None, [401, 403, 200, 403, 200, 200, 404]),
    ("get", "/api/v1/agreements/nope/", None, [401, 403, 404, 403, 404, 404, 404]),
    ("post", "/api/v1/agreements/", "document", [401, 200, 403, 403, 403, 403, 403]),
    ("get", f"{A}/compliance/", None, [401, 403, 200, 403, 200, 200, 404]),
    ("get", f"{A}/compliance/history/", None, [401, 403, 200, 403, 200, 200, 404]),
    ("get", f"{A}/tickets/", None, [401, 403, 200, 403, 200, 200, 404]),
    ("get", f"{A}/ledger/", None, [401, 403, 200, 403, 200, 200, 404]),
    ("get", f"{A}/ledger/export.csv", None, [401, 403, 200, 403, 200, 200, 404]),
    ("get", f"{A}/claims/", None, [401, 403, 200, 403, 200, 200, 404]),
    # Permitted, but nothing is claimable in March: 400 says the request got through.
    ("post", f"{A}/claims/", {"period": "2026-03"}, [401, 400, 403, 403, 400, 403, 404]),
    # Permitted to the provider, but the period has no figures yet: 404.
    (
        "post",
        f"{A}/periods/2026-03/restate/",
        {"reason": "late data"},
        [401, 404, 403, 403, 403, 403, 403],
    ),
    (
        "post",
        "/api/v1/exclusions/",
        {
            "service": "hosted-api",
            "external_id": "EX-1",
            "start": "2026-03-02T10:00:00Z",
            "end": "2026-03-02T11:00:00Z",
            "reason": "monitoring_fault",
            "note": "The monitor was down, not the service.",
        },
        [401, 201, 403, 403, 403, 403, 403],
    ),
    # Notice: the provider, or a key bound to the customer (rule 20).
    ("post", f"{A}/notice/", {"by": "customer"}, [401, 201, 403, 403, 201, 403, 404]),
    # The provider proposes; a period long started is refused with a 400 once permitted.
    (
        "post",
        f"{A}/amendments/",
        {"document": {}, "effective_period": "2000-01", "note": "n"},
        [401, 400, 403, 403, 403, 403, 403],
    ),
    # The customer accepts or rejects; the provider may not decide for it.
    (
        "post",
        f"{A}/amendments/{{amendment}}/accept/",
        None,
        [401, 403, 403, 403, 200, 403, 404],
    ),
    (
        "post",
        f"{A}/amendments/{{amendment}}/reject/",
        None,
        [401, 403, 403, 403, 200, 403, 404],
    ),
    ("get", "/api/v1/webhooks/", None, [401, 403, 200, 403, 200, 200, 200]),
    (
        "post",
        "/api/v1/webhooks/",
        {"url": PUBLIC, "events": ["incident.opened"], "customer": "acme"},
        # another customer's key may not name acme: "its own customer only"
        [401, 201, 403, 403, 201, 403, 400],
    ),
    ("get", "/api/v1/webhooks/{webhook}/", None, [401, 403, 200, 403, 200, 200, 404]),
    ("delete", "/api/v1/webhooks/{webhook}/", None, [401, 204, 403, 403, 204, 403, 404]),
    ("get", "/api/v1/escalations/", None, [401, 403, 200, 403, 200, 200, 200]),
    (
        "post",
        "/api/v1/escalations/{escalation}/acknowledge/",
        None,
        [401, 200, 403, 403, 200, 403, 404],
    ),
    # Another customer's key does not know acme's services or acme: a 400 per record,
    # the same as for a name that does not exist.
    ("post", "/api/v1/probes/", "probes", [401, 403, 403, 201, 201, 403, 400]),
    ("post", "/api/v1/events/", "events", [401, 403, 403, 201, 201, 403, 400]),
    ("post", "/api/v1/samples/", "samples", [401, 403, 403, 201, 201, 403, 400]),
    ("post", "/api/v1/tickets/", "tickets", [401, 403, 403, 201, 201, 403, 400]),
    ("post", "/api/v1/incidents/", "incidents", [401, 403, 403, 201, 201, 403, 400]),
    ("post", "/api/v1/maintenance/", "maintenance", [401, 403, 403, 201, 201, 403, 400]),
    # Integrations: another customer's key is answered 200 with the item skipped (its
    # services are unknown to it), as a tool's webhook must not be retried forever.
    *[
        ("post", f"/api/v1/integrations/{tool}/", tool, [401, 403, 403, 200, 200, 403, 200])
        for tool in ("alertmanager", "uptime-kuma", "pagerduty", "jira", "zendesk")
    ],
    ("get", "/metrics", None, [401, 403, 200, 403, 200, 200, 200]),
]


@pytest.fixture
def globex(document: dict[str, Any]) -> Any:
    """Another customer's agreement, on services of its own."""
    doc = copy.deepcopy(document)
    doc["agreement"] = "globex-hosting"
    doc["customer"] = {"key": "globex", "name": "Globex Inc"}
    for objective in doc["objectives"]:
        if objective.get("service"):
            objective["service"] = f"globex-{objective['service']}"
    return agreement_import(data=doc, actor="test").agreement


@pytest.fixture
def objects(
    agreement: Any, globex: Any, document: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> Any:
    webhook = WebhookEndpoint.objects.create(
        customer=agreement.customer, url=PUBLIC, events=["incident.opened"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident()
    escalation = Escalation.objects.get(agreement=agreement)
    amendment = Amendment.objects.create(
        agreement=agreement,
        document=validate(json.loads(json.dumps(document, default=str))),
        effective_period="2099-01",
        note="new terms",
        proposed_by="provider",
        proposed_at=timezone.now(),
    )
    return {"webhook": webhook.pk, "escalation": escalation.pk, "amendment": amendment.pk}


def _client(persona: str) -> APIClient:
    client = APIClient()
    spec = PERSONAS[persona]
    if spec is not None:
        scopes, customer_key = spec
        customer = Customer.objects.get(key=customer_key) if customer_key else None
        _, secret = ApiKey.generate(name=persona, scopes=scopes, customer=customer)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _body(body: Any, document: dict[str, Any]) -> Any:
    if body == "document":
        return json.loads(json.dumps(document, default=str))
    if isinstance(body, str):
        return _ingest_bodies()[body]
    return body


CELLS = [
    pytest.param(method, path, body, persona, statuses[i], id=f"{method} {path} {persona}")
    for method, path, body, statuses in MATRIX
    for i, persona in enumerate(COLUMNS)
]


@pytest.mark.parametrize(("method", "path", "body", "persona", "expected"), CELLS)
def test_permission_matrix(
    method: str,
    path: str,
    body: Any,
    persona: str,
    expected: int,
    objects: dict[str, int],
    document: dict[str, Any],
) -> None:
    client = _client(persona)
    url = path.format(**objects)
    payload = _body(body, document)
    if payload is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, payload, format="json")
    assert response.status_code == expected, response.content
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["error"]


def _api_view_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, route, ns)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns, "", "")
    return names


def test_the_matrix_covers_every_api_endpoint() -> None:
    covered = {
        resolve(path.format(webhook=1, escalation=1, amendment=1)).view_name
        for _, path, _, _ in MATRIX
    }
    assert _api_view_names() - covered == set()


def test_a_customer_key_may_not_raise_its_own_credits(
    agreement: Any, document: dict[str, Any]
) -> None:
    """The case that made the rule explicit: same customer, every scope, new credit tiers."""
    payload = json.loads(json.dumps(document, default=str))
    payload["credit_cap_percent"] = 100
    payload["objectives"][0]["credits"] = [{"below": 99.99, "percent": 100}]
    response = _client("customer-write").post("/api/v1/agreements/", payload, format="json")
    assert response.status_code == 403
    assert "provider" in response.json()["error"]
    agreement.refresh_from_db()
    assert agreement.credit_cap_percent == 50
    assert agreement.versions.count() == 1
