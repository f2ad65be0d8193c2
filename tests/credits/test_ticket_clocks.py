"""The tickets read endpoint (SPEC §4) and the live ticket view: open tickets by due time,
paused ones without a due time, the period's breached tickets."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine

from agreements.models import Agreement
from credits.tickets import terms_for, ticket_board

pytestmark = pytest.mark.django_db
# Monday 23 November 2026, 10:00 in Berlin; the sample's P1 objective answers within 1 h
# of business hours (09:00-17:00 on weekdays).
NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
URL = "/api/v1/agreements/acme-hosting/tickets/"


def ticket(external_id: str, opened_at: str, **over: Any) -> dict[str, Any]:
    return {
        "customer": "acme",
        "external_id": external_id,
        "priority": "P1",
        "opened_at": opened_at,
        **over,
    }


TICKETS = [
    # Friday 16:30, paused 16:45 to Monday 09:30: 15 + 30 min so far, due Monday 10:15.
    ticket(
        "T-1",
        "2026-11-20T15:30:00Z",
        paused=[{"from": "2026-11-20T15:45:00Z", "to": "2026-11-23T08:30:00Z"}],
    ),
    ticket("T-2", "2026-11-23T08:30:00Z"),  # Monday 09:30: due 10:30
    # Monday 09:05, waiting on the customer since 09:15.
    ticket("T-3", "2026-11-23T08:05:00Z", paused=[{"from": "2026-11-23T08:15:00Z", "to": None}]),
    ticket("T-4", "2026-11-19T09:00:00Z"),  # Thursday 10:00: due 11:00, 16 h so far
    ticket("T-5", "2026-11-23T08:00:00Z", priority="P2"),  # no P2 objective
    ticket("T-6", "2026-11-23T08:00:00Z", first_response_at="2026-11-23T08:20:00Z"),
]


@pytest.fixture
def tickets(api: Any, agreement: Agreement) -> Agreement:
    with time_machine.travel(NOW, tick=False):
        response = api("ingest").post(
            "/api/v1/tickets/", json.dumps(TICKETS), content_type="application/json"
        )
    assert response.status_code == 201, response.content
    return agreement


def get(client: Any, query: str = "") -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.get(URL + query)


def test_open_tickets_come_by_due_time_with_paused_ones_last(api: Any, tickets: Any) -> None:
    body = get(api("read")).json()

    # No period asked: every open ticket, whatever the period it was opened in.
    assert (body["agreement"], body["period"], body["state"]) == ("acme-hosting", None, "open")
    assert body["tickets"] == [
        {
            "external_id": "T-4",
            "priority": "P1",
            "objective": "p1-first-response",
            "state": "breached",
            "elapsed_seconds": 16 * 3600,
            "paused": False,
            "due_at": "2026-11-19T10:00:00Z",
        },
        {
            "external_id": "T-1",
            "priority": "P1",
            "objective": "p1-first-response",
            "state": "pending",
            "elapsed_seconds": 45 * 60,
            "paused": False,
            "due_at": "2026-11-23T09:15:00Z",
        },
        {
            "external_id": "T-2",
            "priority": "P1",
            "objective": "p1-first-response",
            "state": "pending",
            "elapsed_seconds": 30 * 60,
            "paused": False,
            "due_at": "2026-11-23T09:30:00Z",
        },
        {
            "external_id": "T-3",
            "priority": "P1",
            "objective": "p1-first-response",
            "state": "pending",
            "elapsed_seconds": 10 * 60,
            "paused": True,
            "due_at": None,
        },
    ]


def test_all_tickets_of_a_period_include_the_answered_ones(api: Any, tickets: Any) -> None:
    body = get(api("read"), "?state=all&period=2026-11").json()

    states = {t["external_id"]: t["state"] for t in body["tickets"]}
    assert states == {
        "T-1": "pending",
        "T-2": "pending",
        "T-3": "pending",
        "T-4": "breached",
        "T-6": "met",
    }
    assert get(api("read"), "?state=all&period=2026-10").json()["tickets"] == []


def test_open_tickets_of_a_period_asked_for(api: Any, tickets: Any) -> None:
    november = get(api("read"), "?state=open&period=2026-11").json()
    assert november["period"] == "2026-11"
    assert {t["external_id"] for t in november["tickets"]} == {"T-1", "T-2", "T-3", "T-4"}
    october = get(api("read"), "?state=open&period=2026-10").json()
    assert (october["period"], october["tickets"]) == ("2026-10", [])


def test_a_ticket_resent_with_another_priority_is_judged_under_it(api: Any, tickets: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        api("ingest").post(
            "/api/v1/tickets/",
            json.dumps([ticket("T-2", "2026-11-23T08:30:00Z", priority="P2")]),
            content_type="application/json",
        )

    ids = [t["external_id"] for t in get(api("read")).json()["tickets"]]

    assert ids == ["T-4", "T-1", "T-3"]


@pytest.mark.parametrize(
    ("query", "word"),
    [("?state=closed", "state"), ("?period=2026-13", "period"), ("?period=2026-11%0A", "period")],
)
def test_bad_queries_are_a_400_naming_the_parameter(
    api: Any, tickets: Any, query: str, word: str
) -> None:
    response = get(api("read"), query)

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{word}:")


def test_another_customers_key_sees_nothing(api: Any, tickets: Any, other_agreement: Any) -> None:
    outsider = api("read", customer=other_agreement.customer)

    assert get(outsider).status_code == 404
    assert "T-4" not in get(outsider).content.decode()


def test_the_board_lists_the_periods_breached_tickets_by_how_much(tickets: Agreement) -> None:
    terms = terms_for(tickets, "2026-11")
    assert terms is not None

    board = ticket_board(agreement=tickets, terms=terms, now=NOW)

    assert [line.external_id for line in board.open] == ["T-4", "T-1", "T-2", "T-3"]
    assert [(line.external_id, line.over) for line in board.breached] == [
        ("T-4", dt.timedelta(hours=15))
    ]


def test_the_endpoint_is_in_the_openapi_schema(client: Any) -> None:
    schema = client.get("/api/schema/").content.decode()

    assert "/api/v1/agreements/{key}/tickets/" in schema
    assert "null while paused" in schema
