"""POST /api/v1/integrations/jira/ with Jira issue and comment webhooks, signed as Jira
signs them (X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>), and the ticket
figures that follow."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from agreements.services import agreement_import
from integrations.jira import sign
from integrations.models import CustomerMapping, Delivery, Integration, PriorityMapping
from metrics.models import Ticket
from tests.integrations.conftest import MARCH, NOW, post, shop_doc

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/jira/"
SECRET = "ChangeMe-jira-secret-1"
UTC = dt.UTC
REPORTER = "5b10a2844c20165700ede21g"
AGENT = "5b10ac8d82e05b22cc7d4ef5"


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def issue_event(
    event: str,
    at: str,
    *,
    status: str = "Waiting for support",
    resolutiondate: str | None = None,
    comment: dict[str, Any] | None = None,
    priority: str = "Highest",
) -> dict[str, Any]:
    """A Jira webhook body as Jira documents it (issue events carry the whole issue)."""
    body: dict[str, Any] = {
        "timestamp": ms(at),
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": AGENT, "displayName": "Agent Smith", "active": True},
        "issue": {
            "id": "10002",
            "self": "https://shop.atlassian.net/rest/api/2/10002",
            "key": "SHOP-7",
            "fields": {
                "summary": "Checkout fails",
                "issuetype": {"id": "10003", "name": "Incident"},
                "project": {"id": "10000", "key": "SHOP", "name": "Shop desk"},
                "priority": {"id": "1", "name": priority},
                "status": {
                    "id": "10001",
                    "name": status,
                    "statusCategory": {"key": "done" if resolutiondate else "indeterminate"},
                },
                "reporter": {"accountId": REPORTER, "displayName": "Sam Shopper"},
                "created": "2026-03-02T08:00:00.000+0000",
                "updated": at.replace("+00:00", ".000+0000"),
                "resolutiondate": resolutiondate,
            },
        },
    }
    if event == "jira:issue_updated":
        body["changelog"] = {
            "id": "10400",
            "items": [{"field": "status", "fieldtype": "jira", "toString": status}],
        }
    if comment is not None:
        body["comment"] = comment
    return body


def comment(author: str, created: str, public: bool = True) -> dict[str, Any]:
    return {
        "id": "10100",
        "body": "We are looking into it.",
        "author": {"accountId": author, "displayName": "someone"},
        "created": created,
        "updated": created,
        "jsdPublic": public,
    }


def send(body: Any, secret: str = SECRET) -> Any:
    raw = json.dumps(body).encode()
    return post(APIClient(), URL, raw, HTTP_X_HUB_SIGNATURE=sign(raw, secret))


@pytest.fixture
def shop_desk(db: Any) -> Any:
    objectives = [
        {
            "key": "p1-response",
            "indicator": "response_time",
            "priority": "P1",
            "threshold": "1h",
            "target": 90,
        },
        {
            "key": "p1-resolution",
            "indicator": "resolution_time",
            "priority": "P1",
            "threshold": "3h",
            "target": 90,
        },
    ]
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=shop_doc(objectives=objectives)).agreement


@pytest.fixture
def desk(shop_desk: Any) -> Integration:
    integration = Integration.objects.create(kind="jira", name="jira-desk", secret=SECRET)
    CustomerMapping.objects.create(
        integration=integration, external_name="SHOP", customer=shop_desk.customer
    )
    PriorityMapping.objects.create(integration=integration, external_name="highest", priority="P1")
    return integration


def story() -> list[dict[str, Any]]:
    """Opened 08:00; the agent answers at 08:40 and waits for the customer from 09:00 to
    10:00; resolved at 11:30. Covered time to resolution: 3.5 h less 1 h = 2.5 h."""
    return [
        issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00"),
        issue_event(
            "comment_created",
            "2026-03-02T08:40:00+00:00",
            comment=comment(AGENT, "2026-03-02T08:40:00.000+0000"),
        ),
        issue_event(
            "jira:issue_updated", "2026-03-02T09:00:00+00:00", status="Waiting for customer"
        ),
        issue_event("jira:issue_updated", "2026-03-02T10:00:00+00:00", status="In progress"),
        issue_event(
            "jira:issue_updated",
            "2026-03-02T11:30:00+00:00",
            status="Resolved",
            resolutiondate="2026-03-02T11:30:00.000+0000",
        ),
    ]


def test_an_issue_story_becomes_one_ticket_with_its_pause(desk: Any, at_noon: Any) -> None:
    for body in story():
        assert send(body).json() == {"accepted": 1, "skipped": []}
    ticket = Ticket.objects.get()
    assert (ticket.customer.key, ticket.external_id, ticket.priority) == ("shop-co", "SHOP-7", "P1")
    assert ticket.opened_at == dt.datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert ticket.first_response_at == dt.datetime(2026, 3, 2, 8, 40, tzinfo=UTC)
    assert ticket.resolved_at == dt.datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    assert ticket.paused == [["2026-03-02T09:00:00+00:00", "2026-03-02T10:00:00+00:00"]]


def test_the_figures_are_the_hand_calculation(desk: Any, api: Any, at_noon: Any) -> None:
    for body in story():
        send(body)
    rows = api("read").get("/api/v1/agreements/shop/tickets/?state=all&period=2026-03").json()
    figures = {(r["objective"], r["state"], r["elapsed_seconds"]) for r in rows["tickets"]}
    # Response: 40 min of 1 h; resolution: 3.5 h less the 1 h pause = 2.5 h of 3 h.
    assert figures == {("p1-response", "met", 40 * 60), ("p1-resolution", "met", 150 * 60)}


def test_the_same_delivery_twice_stores_nothing_new(desk: Any, at_noon: Any) -> None:
    waiting = issue_event(
        "jira:issue_updated", "2026-03-02T09:00:00+00:00", status="Waiting for customer"
    )
    send(story()[0])
    assert send(waiting).json()["accepted"] == 1
    assert send(waiting).json() == {"accepted": 0, "skipped": []}
    assert Ticket.objects.get().paused == [["2026-03-02T09:00:00+00:00", None]]


def test_the_reporters_own_comment_or_an_internal_note_is_no_response(
    desk: Any, at_noon: Any
) -> None:
    send(story()[0])
    own = comment(REPORTER, "2026-03-02T08:10:00.000+0000")
    send(issue_event("comment_created", "2026-03-02T08:10:00+00:00", comment=own))
    note = comment(AGENT, "2026-03-02T08:20:00.000+0000", public=False)
    send(issue_event("comment_created", "2026-03-02T08:20:00+00:00", comment=note))
    assert Ticket.objects.get().first_response_at is None


def test_an_unmapped_priority_is_kept_as_jira_names_it(desk: Any, at_noon: Any) -> None:
    send(issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00", priority="Low"))
    assert Ticket.objects.get().priority == "Low"


def test_a_project_that_is_no_customer_is_skipped(desk: Any, at_noon: Any) -> None:
    body = issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00")
    body["issue"]["fields"]["project"]["key"] = "OTHER"
    response = send(body)
    assert response.json()["accepted"] == 0
    assert "unknown customer 'OTHER'" in response.json()["skipped"][0]["reason"]
    assert not Ticket.objects.exists()


def test_other_events_are_skipped(desk: Any, at_noon: Any) -> None:
    body = issue_event("jira:issue_deleted", "2026-03-02T08:00:00+00:00")
    assert "jira:issue_deleted" in send(body).json()["skipped"][0]["reason"]


def test_a_bad_signature_is_401_and_stores_nothing(desk: Any, at_noon: Any) -> None:
    response = send(story()[0], secret="wrong")
    assert response.status_code == 401
    assert "Jira" in response.json()["error"]
    assert not Ticket.objects.exists()
    assert Delivery.objects.get().status_code == 401


def test_no_signature_names_the_header(desk: Any, at_noon: Any) -> None:
    response = post(APIClient(), URL, story()[0])
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.json()["error"]


def test_the_previous_secret_stays_valid_for_a_day(desk: Integration) -> None:
    with time_machine.travel(NOW - dt.timedelta(hours=23), tick=False):
        desk.rotate("the-new-jira-secret")
        desk.save()
    with time_machine.travel(NOW, tick=False):
        assert send(story()[0], secret=SECRET).status_code == 200
        assert send(story()[0], secret="the-new-jira-secret").status_code == 200
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert send(story()[0], secret=SECRET).status_code == 401


def test_an_ingest_key_works_and_the_project_key_may_be_the_customer_key(
    api: Any, shop_desk: Any, at_noon: Any
) -> None:
    body = issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00")
    body["issue"]["fields"]["project"]["key"] = "shop-co"
    response = post(api("ingest"), URL, body)
    assert response.json() == {"accepted": 1, "skipped": []}


def test_malformed_bodies_name_the_field_and_store_nothing(desk: Any, at_noon: Any) -> None:
    body = issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00")
    body["issue"]["fields"]["created"] = "last tuesday"
    response = send(body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "issue.fields.created"
    body = issue_event("jira:issue_created", "2026-03-02T08:00:00+00:00")
    del body["issue"]["fields"]["status"]
    assert send(body).json()["errors"][0]["field"] == "issue.fields.status"
    response = post(APIClient(), URL, b"{not json", HTTP_X_HUB_SIGNATURE=sign(b"{not json", SECRET))
    assert response.status_code == 400
    assert not Ticket.objects.exists()
