"""POST /api/v1/integrations/pagerduty/ with PagerDuty V3 webhook events, signed as
PagerDuty signs them (X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from integrations.models import Delivery, Integration
from integrations.pagerduty import sign
from metrics.models import Incident, IngestionBatch
from tests.integrations.conftest import NOW, post

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/pagerduty/"
SECRET = "ChangeMe-pd-secret-1"


def event(event_type: str, occurred_at: str, **data: Any) -> dict[str, Any]:
    """A V3 webhook event as PagerDuty documents it."""
    incident = {
        "id": "PGR0VU2",
        "type": "incident",
        "self": "https://api.pagerduty.com/incidents/PGR0VU2",
        "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
        "number": 2,
        "status": "triggered",
        "incident_key": "d3640fbd41094207a1c11e58e46b1662",
        "created_at": "2026-03-02T10:00:00Z",
        "title": "API is returning 503",
        "service": {
            "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
            "id": "PF9KMXH",
            "self": "https://api.pagerduty.com/services/PF9KMXH",
            "summary": "api",
            "type": "service_reference",
        },
        "assignees": [],
        "escalation_policy": {"id": "PN6L9M2", "type": "escalation_policy_reference"},
        "teams": [],
        "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
        "urgency": "high",
        "conference_bridge": None,
        "resolve_reason": None,
        **data,
    }
    return {
        "event": {
            "id": "01BZ4ZCSRSXZHPN5CYWEZR3CNA",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": {"id": "PLH1HKV", "type": "user_reference", "summary": "Tenex Engineer"},
            "client": {"name": "PagerDuty"},
            "data": incident,
        }
    }


def signed(body: Any, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"HTTP_X_PAGERDUTY_SIGNATURE": sign(raw, secret)}


def send(body: Any, secret: str = SECRET) -> Any:
    raw, headers = signed(body, secret)
    return post(APIClient(), URL, raw, **headers)


@pytest.fixture
def pd(shop: Any) -> Integration:
    return Integration.objects.create(kind="pagerduty", name="pagerduty-main", secret=SECRET)


def test_triggered_then_resolved(pd: Integration, at_noon: Any) -> None:
    assert send(event("incident.triggered", "2026-03-02T10:00:01.169Z")).json() == {
        "accepted": 1,
        "skipped": [],
    }
    incident = Incident.objects.get()
    assert (incident.external_id, incident.impact) == ("pagerduty-PGR0VU2", "outage")
    assert incident.title == "API is returning 503"
    assert incident.started_at == dt.datetime(2026, 3, 2, 10, 0, 1, 169000, tzinfo=dt.UTC)
    body = event("incident.resolved", "2026-03-02T10:45:00Z", status="resolved")
    assert send(body).json() == {"accepted": 1, "skipped": []}
    incident.refresh_from_db()
    assert incident.resolved_at == dt.datetime(2026, 3, 2, 10, 45, tzinfo=dt.UTC)
    # The same delivery again (PagerDuty retries) stores nothing new.
    assert send(body).json()["accepted"] == 0
    # Measurements are recorded under the integration's name (what measured_by lists).
    assert set(IngestionBatch.objects.values_list("source", flat=True)) == {"pagerduty-main"}


def test_reopened_is_a_new_incident_which_the_next_resolution_ends(
    pd: Integration, at_noon: Any
) -> None:
    send(event("incident.triggered", "2026-03-02T10:00:00Z"))
    send(event("incident.resolved", "2026-03-02T10:10:00Z"))
    send(event("incident.reopened", "2026-03-02T11:00:00Z"))
    assert Incident.objects.count() == 2
    send(event("incident.resolved", "2026-03-02T11:05:00Z"))
    spans = sorted(Incident.objects.values_list("started_at__hour", "resolved_at__minute"))
    assert spans == [(10, 10), (11, 5)]


def test_low_urgency_without_a_named_priority_is_degraded(pd: Integration, at_noon: Any) -> None:
    send(event("incident.triggered", "2026-03-02T10:00:00Z", urgency="low", priority=None))
    assert Incident.objects.get().impact == "degraded"


def test_other_event_types_are_skipped(pd: Integration, at_noon: Any) -> None:
    response = send(event("incident.acknowledged", "2026-03-02T10:00:00Z"))
    assert response.json()["accepted"] == 0
    assert "incident.acknowledged" in response.json()["skipped"][0]["reason"]


def test_a_bad_signature_is_401_and_stores_nothing(pd: Integration, at_noon: Any) -> None:
    response = send(event("incident.triggered", "2026-03-02T10:00:00Z"), secret="wrong")
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert not Incident.objects.exists()
    assert Delivery.objects.get().status_code == 401


def test_a_tampered_body_is_401(pd: Integration, at_noon: Any) -> None:
    raw, headers = signed(event("incident.triggered", "2026-03-02T10:00:00Z"))
    response = post(APIClient(), URL, raw.replace(b"PGR0VU2", b"PGR0VU3"), **headers)
    assert response.status_code == 401


def test_several_signatures_one_of_which_matches(pd: Integration, at_noon: Any) -> None:
    raw, headers = signed(event("incident.triggered", "2026-03-02T10:00:00Z"))
    header = f"{sign(raw, 'old-one')},{headers['HTTP_X_PAGERDUTY_SIGNATURE']}"
    response = post(APIClient(), URL, raw, HTTP_X_PAGERDUTY_SIGNATURE=header)
    assert response.json()["accepted"] == 1


def test_the_previous_secret_stays_valid_for_a_day(pd: Integration) -> None:
    with time_machine.travel(NOW - dt.timedelta(hours=23), tick=False):
        pd.rotate("the-new-secret")
        pd.save()
    with time_machine.travel(NOW, tick=False):
        body = event("incident.triggered", "2026-03-02T10:00:00Z")
        assert send(body, secret=SECRET).status_code == 200
        assert send(body, secret="the-new-secret").status_code == 200
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert send(body, secret=SECRET).status_code == 401
        assert send(body, secret="the-new-secret").status_code == 200


def test_no_key_and_no_signature_is_401(pd: Integration, at_noon: Any) -> None:
    response = post(APIClient(), URL, event("incident.triggered", "2026-03-02T10:00:00Z"))
    assert response.status_code == 401
    assert "X-PagerDuty-Signature" in response.json()["error"]


def test_an_ingest_key_works_without_a_signature(api: Any, shop: Any, at_noon: Any) -> None:
    response = post(api("ingest"), URL, event("incident.triggered", "2026-03-02T10:00:00Z"))
    assert response.json() == {"accepted": 1, "skipped": []}


def test_malformed_event_names_the_field(pd: Integration, at_noon: Any) -> None:
    response = send(event("incident.triggered", "yesterday"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "event.occurred_at"
    body = event("incident.triggered", "2026-03-02T10:00:00Z")
    del body["event"]["data"]["service"]
    response = send(body)
    assert response.json()["errors"][0]["field"] == "event.data.service"
    assert not Incident.objects.exists()


def test_a_replayed_trigger_never_reopens_a_resolved_incident(
    pd: Integration, at_noon: Any
) -> None:
    trigger = event("incident.triggered", "2026-03-02T10:00:00Z")
    send(trigger)
    send(event("incident.resolved", "2026-03-02T10:10:00Z"))
    replay = send(trigger)
    assert replay.json()["accepted"] == 0
    assert "was resolved at" in replay.json()["skipped"][0]["reason"]
    assert Incident.objects.get().resolved_at is not None


def test_incident_ids_are_matched_whole_not_by_prefix(pd: Integration, at_noon: Any) -> None:
    send(event("incident.triggered", "2026-03-02T10:00:00Z", id="Q1"))
    assert send(event("incident.triggered", "2026-03-02T10:05:00Z", id="Q")).json() == {
        "accepted": 1,
        "skipped": [],
    }
    send(event("incident.resolved", "2026-03-02T10:10:00Z", id="Q"))
    state = dict(Incident.objects.values_list("external_id", "resolved_at"))
    assert state["pagerduty-Q"] is not None
    assert state["pagerduty-Q1"] is None


def test_a_refused_delivery_keeps_no_body(pd: Integration, at_noon: Any) -> None:
    send(event("incident.triggered", "2026-03-02T10:00:00Z"), secret="wrong")
    assert Delivery.objects.get().body == ""
