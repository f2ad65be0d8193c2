"""POST /api/v1/integrations/uptime-kuma/ with Uptime Kuma's webhook notification body."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from integrations.models import Delivery
from metrics.models import Incident
from tests.integrations.conftest import post

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/uptime-kuma/"


def notification(status: int, time: str, **monitor: Any) -> dict[str, Any]:
    """Uptime Kuma's JSON webhook: heartbeat, monitor and msg; ``time`` is UTC."""
    return {
        "heartbeat": {
            "monitorID": 7,
            "status": status,
            "time": time,
            "msg": "connect ECONNREFUSED 10.0.0.5:443" if status == 0 else "200 - OK",
            "important": True,
            "duration": 60,
            "timezone": "Europe/Berlin",
            "timezoneOffset": "+01:00",
            "localDateTime": "2026-03-02 11:00:00",
            "ping": None if status == 0 else 42,
        },
        "monitor": {
            "id": 7,
            "name": "api",
            "url": "https://api.shop.example/health",
            "type": "http",
            "interval": 60,
            **monitor,
        },
        "msg": "[api] [🔴 Down] connect ECONNREFUSED",
    }


@pytest.fixture
def client(api: Any) -> APIClient:
    return api("ingest")


def test_down_opens_an_outage_and_up_resolves_it(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    down = post(client, URL, notification(0, "2026-03-02 10:00:00.123"))
    assert down.json() == {"accepted": 1, "skipped": []}
    incident = Incident.objects.get()
    # The time has no offset and is UTC.
    assert incident.started_at == dt.datetime(2026, 3, 2, 10, 0, 0, 123000, tzinfo=dt.UTC)
    assert incident.impact == "outage"
    assert incident.resolved_at is None
    again = post(client, URL, notification(0, "2026-03-02 10:01:00"))
    assert again.json()["accepted"] == 0
    assert "already down" in again.json()["skipped"][0]["reason"]
    up = post(client, URL, notification(1, "2026-03-02 10:20:00"))
    assert up.json() == {"accepted": 1, "skipped": []}
    incident.refresh_from_db()
    assert incident.resolved_at == dt.datetime(2026, 3, 2, 10, 20, tzinfo=dt.UTC)
    assert Incident.objects.count() == 1
    up_again = post(client, URL, notification(1, "2026-03-02 10:21:00"))
    assert up_again.json()["accepted"] == 0
    assert "no open outage" in up_again.json()["skipped"][0]["reason"]


@pytest.mark.parametrize(("status", "word"), [(2, "pending"), (3, "maintenance")])
def test_pending_and_maintenance_beats_do_nothing(
    client: APIClient, shop: Any, at_noon: Any, status: int, word: str
) -> None:
    post(client, URL, notification(0, "2026-03-02 10:00:00"))
    response = post(client, URL, notification(status, "2026-03-02 10:05:00"))
    assert response.json()["accepted"] == 0
    assert word in response.json()["skipped"][0]["reason"]
    assert Incident.objects.get().resolved_at is None


def test_the_test_notification_is_answered_and_stores_nothing(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    body = {"heartbeat": None, "monitor": None, "msg": "Uptime Kuma Webhook Testing"}
    response = post(client, URL, body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert not Incident.objects.exists()
    assert Delivery.objects.get().status_code == 200


def test_unknown_monitor_is_skipped(client: APIClient, shop: Any, at_noon: Any) -> None:
    response = post(client, URL, notification(0, "2026-03-02 10:00:00", name="Mail server"))
    assert "unknown service 'Mail server'" in response.json()["skipped"][0]["reason"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": 9}, "heartbeat.status"),
        ({"status": True}, "heartbeat.status"),
        ({"time": "2026-03-02T10:00:00Z"}, "heartbeat.time"),
        ({"time": "2026-02-30 10:00:00"}, "heartbeat.time"),
        ({"monitorID": "seven"}, "heartbeat.monitorID"),
    ],
)
def test_malformed_beats_are_refused(
    client: APIClient, shop: Any, at_noon: Any, change: dict[str, Any], field: str
) -> None:
    body = notification(0, "2026-03-02 10:00:00")
    body["heartbeat"].update(change)
    response = post(client, URL, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert not Incident.objects.exists()


def test_a_repeated_down_beat_never_reopens_a_resolved_outage(
    client: APIClient, shop: Any, at_noon: Any
) -> None:
    post(client, URL, notification(0, "2026-03-02 10:00:00"))
    post(client, URL, notification(1, "2026-03-02 10:20:00"))
    again = post(client, URL, notification(0, "2026-03-02 10:00:00"))
    assert again.json()["accepted"] == 0
    assert "was resolved at" in again.json()["skipped"][0]["reason"]
    assert Incident.objects.get().resolved_at is not None
