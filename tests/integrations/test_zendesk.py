"""POST /api/v1/integrations/zendesk/ with Zendesk ticket event webhooks, signed as
Zendesk signs them (X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of the timestamp and
the body; X-Zendesk-Webhook-Signature-Timestamp)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from agreements.services import agreement_import
from integrations.models import CustomerMapping, Delivery, Integration, PriorityMapping
from integrations.zendesk import signature_valid
from metrics.models import Ticket
from tests.integrations.conftest import MARCH, post, shop_doc

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/zendesk/"
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
UTC = dt.UTC
REQUESTER = "6596848315901"
AGENT = "6596848315777"


def ticket_event(kind: str, time: str, *, status: str = "OPEN", **event: Any) -> dict[str, Any]:
    """A ticket event webhook as Zendesk documents it (zendesk_event_version 2022-06-20)."""
    return {
        "type": f"zen:event-type:ticket.{kind}",
        "account_id": 12514403,
        "id": f"2b24ef10-19d4-4740-93cf-{abs(hash((kind, time, status))) % 10**12:012d}",
        "time": time,
        "zendesk_event_version": "2022-06-20",
        "subject": "zen:ticket:35436",
        "detail": {
            "actor_id": AGENT,
            "assignee_id": AGENT,
            "brand_id": "360000001",
            "created_at": "2026-03-02T08:00:00Z",
            "description": "The checkout page returns an error",
            "external_id": "",
            "form_id": "360000002",
            "group_id": "360000003",
            "id": "35436",
            "is_public": True,
            "organization_id": "6607619104125",
            "priority": "URGENT",
            "requester_id": REQUESTER,
            "status": status,
            "subject": "Checkout fails",
            "submitter_id": REQUESTER,
            "tags": [],
            "type": "INCIDENT",
            "updated_at": time,
            "via": {"channel": "web_form"},
        },
        "event": event,
    }


def comment_added(time: str, author: str, public: bool = True) -> dict[str, Any]:
    comment = {"id": "9000", "body": "On it", "is_public": public, "author": {"id": author}}
    return ticket_event("comment_added", time, comment=comment)


def signed_headers(raw: bytes, stamp: str, secret: str) -> dict[str, str]:
    """Zendesk's documented scheme, written out here independently of the code."""
    digest = hmac.new(secret.encode(), stamp.encode() + raw, hashlib.sha256).digest()
    return {
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE": base64.b64encode(digest).decode(),
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP": stamp,
    }


def send(body: Any, secret: str = SECRET, stamp: str = "2026-03-02T12:00:00Z") -> Any:
    raw = json.dumps(body).encode()
    return post(APIClient(), URL, raw, **signed_headers(raw, stamp, secret))


@pytest.fixture
def shop_desk(db: Any) -> Any:
    objectives = [
        {
            "key": "urgent-resolution",
            "indicator": "resolution_time",
            "priority": "P1",
            "threshold": "2h",
            "target": 90,
        },
    ]
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=shop_doc(objectives=objectives)).agreement


@pytest.fixture
def desk(shop_desk: Any) -> Integration:
    integration = Integration.objects.create(kind="zendesk", name="zendesk-desk", secret=SECRET)
    CustomerMapping.objects.create(
        integration=integration, external_name="6607619104125", customer=shop_desk.customer
    )
    PriorityMapping.objects.create(integration=integration, external_name="urgent", priority="P1")
    return integration


def story() -> list[dict[str, Any]]:
    """Created 08:00; the agent replies at 08:15 and sets it pending 08:30 to 09:30,
    then on hold 10:00 to 10:30; solved 11:00, closed 11:30. Resolution: 3 h less 1.5 h."""
    return [
        ticket_event("created", "2026-03-02T08:00:00Z", status="NEW"),
        comment_added("2026-03-02T08:15:00Z", AGENT),
        ticket_event("status_changed", "2026-03-02T08:30:00Z", status="PENDING"),
        ticket_event("status_changed", "2026-03-02T09:30:00Z", status="OPEN"),
        ticket_event("status_changed", "2026-03-02T10:00:00Z", status="HOLD"),
        ticket_event("status_changed", "2026-03-02T10:30:00Z", status="OPEN"),
        ticket_event("status_changed", "2026-03-02T11:00:00Z", status="SOLVED"),
    ]


def test_a_ticket_story(desk: Any, api: Any, at_noon: Any) -> None:
    for body in story():
        assert send(body).json() == {"accepted": 1, "skipped": []}
    # Closing a solved ticket keeps the time it was solved: nothing changes.
    assert send(ticket_event("status_changed", "2026-03-02T11:30:00Z", status="CLOSED")).json() == {
        "accepted": 0,
        "skipped": [],
    }
    ticket = Ticket.objects.get()
    assert (ticket.external_id, ticket.priority, ticket.customer.key) == (
        "zendesk-35436",
        "P1",
        "shop-co",
    )
    assert ticket.first_response_at == dt.datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert ticket.resolved_at == dt.datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert ticket.paused == [
        ["2026-03-02T08:30:00+00:00", "2026-03-02T09:30:00+00:00"],
        ["2026-03-02T10:00:00+00:00", "2026-03-02T10:30:00+00:00"],
    ]
    rows = api("read").get("/api/v1/agreements/shop/tickets/?state=all&period=2026-03").json()
    [row] = rows["tickets"]
    assert (row["state"], row["elapsed_seconds"]) == ("met", 90 * 60)


def test_the_requesters_comment_is_no_response(desk: Any, at_noon: Any) -> None:
    send(story()[0])
    send(comment_added("2026-03-02T08:05:00Z", REQUESTER))
    send(comment_added("2026-03-02T08:06:00Z", AGENT, public=False))
    assert Ticket.objects.get().first_response_at is None


def test_reopening_clears_the_resolution(desk: Any, at_noon: Any) -> None:
    send(ticket_event("status_changed", "2026-03-02T09:00:00Z", status="SOLVED"))
    send(ticket_event("status_changed", "2026-03-02T09:10:00Z", status="OPEN"))
    assert Ticket.objects.get().resolved_at is None


def test_a_ticket_of_no_organisation_or_an_unknown_one_is_skipped(desk: Any, at_noon: Any) -> None:
    body = story()[0]
    body["detail"]["organization_id"] = None
    assert "no organisation" in send(body).json()["skipped"][0]["reason"]
    body["detail"]["organization_id"] = "42"
    assert "unknown customer '42'" in send(body).json()["skipped"][0]["reason"]
    assert not Ticket.objects.exists()


def test_other_event_types_are_skipped(desk: Any, at_noon: Any) -> None:
    body = {"type": "zen:event-type:user.active_changed", "time": "2026-03-02T08:00:00Z"}
    assert "not a ticket event" in send(body).json()["skipped"][0]["reason"]


def test_a_bad_signature_is_401_and_stores_nothing(desk: Any, at_noon: Any) -> None:
    assert send(story()[0], secret="wrong").status_code == 401
    raw = json.dumps(story()[0]).encode()
    headers = signed_headers(raw, "2026-03-02T12:00:00Z", SECRET)
    headers["HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP"] = "2026-03-02T12:00:01Z"
    response = post(APIClient(), URL, raw, **headers)
    assert response.status_code == 401
    assert "Zendesk" in response.json()["error"]
    assert not Ticket.objects.exists()
    assert list(Delivery.objects.values_list("status_code", flat=True)) == [401, 401]


def test_the_signature_is_base64_hmac_of_timestamp_then_body() -> None:
    body, stamp = b'{"say": "hello"}', "2021-07-25T10:00:00Z"
    secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    assert signature_valid(body, base64.b64encode(digest).decode(), stamp, [secret])
    assert not signature_valid(body, base64.b64encode(digest).decode(), stamp, ["other"])
    # Body then timestamp is not the scheme.
    swapped = hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).digest()
    assert not signature_valid(body, base64.b64encode(swapped).decode(), stamp, [secret])


def test_malformed_bodies_name_the_field(desk: Any, at_noon: Any) -> None:
    body = story()[0]
    body["time"] = "noon"
    response = send(body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "time"
    body = story()[0]
    del body["detail"]["status"]
    assert send(body).json()["errors"][0]["field"] == "detail.status"
    assert not Ticket.objects.exists()
