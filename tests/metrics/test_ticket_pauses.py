"""Ticket pauses (SPEC §4 ``"paused"``, rule 8): validation, storage, and the figures."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine

from metrics.models import Ticket

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def ticket(**over: Any) -> dict[str, Any]:
    # Friday 20 November 2026, 16:30 in Berlin; answered Monday 10:00 Berlin.
    return {
        "customer": "acme",
        "external_id": "T-7",
        "priority": "P1",
        "opened_at": "2026-11-20T15:30:00Z",
        "first_response_at": "2026-11-23T09:00:00Z",
        "paused": [{"from": "2026-11-20T15:45:00Z", "to": "2026-11-23T08:30:00Z"}],
        **over,
    }


def post(client: Any, records: list[dict[str, Any]]) -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.post("/api/v1/tickets/", json.dumps(records), content_type="application/json")


@pytest.fixture
def client(api: Any, agreement: Any) -> Any:
    return api("ingest")


def test_pauses_are_stored_and_replaced_by_the_next_list(client: Any) -> None:
    assert post(client, [ticket()]).status_code == 201
    assert Ticket.objects.get().paused == [
        ["2026-11-20T15:45:00+00:00", "2026-11-23T08:30:00+00:00"]
    ]

    resent = ticket(paused=[{"from": "2026-11-23T08:00:00Z", "to": None}])
    assert post(client, [resent]).json() == {"accepted": 1, "duplicates": 0}

    assert Ticket.objects.get().paused == [["2026-11-23T08:00:00+00:00", None]]


def test_a_ticket_sent_without_pauses_keeps_the_stored_ones(client: Any) -> None:
    post(client, [ticket()])
    without = ticket()
    del without["paused"]

    assert post(client, [without]).json() == {"accepted": 0, "duplicates": 1}
    assert len(Ticket.objects.get().paused) == 1


@pytest.mark.parametrize(
    ("paused", "field", "message"),
    [
        ("soon", "paused", "must be a list"),
        ([{"from": "2026-11-21T10:00:00Z"}, 3], "paused[1]", "must be an object"),
        ([{"from": "2026-11-21T10:00:00Z", "until": None}], "paused[0].until", "not a field"),
        ([{"to": "2026-11-21T10:00:00Z"}], "paused[0]", "must be an object"),
        ([{"from": "2026-11-20T15:00:00Z", "to": None}], "paused[0].from", "before opened_at"),
        (
            [{"from": "2026-11-21T10:00:00Z", "to": "2026-11-21T10:00:00Z"}],
            "paused[0].to",
            "must be after from",
        ),
        (
            [
                {"from": "2026-11-21T10:00:00Z", "to": "2026-11-21T12:00:00Z"},
                {"from": "2026-11-21T11:00:00Z", "to": "2026-11-21T13:00:00Z"},
            ],
            "paused[1].from",
            "overlaps",
        ),
        (
            [
                {"from": "2026-11-21T10:00:00Z", "to": None},
                {"from": "2026-11-21T11:00:00Z", "to": "2026-11-21T13:00:00Z"},
            ],
            "paused[1]",
            "only the last may be open",
        ),
        (
            [
                {"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T12:00:00Z"},
                {"from": "2026-11-21T10:00:00Z", "to": "2026-11-21T13:00:00Z"},
            ],
            "paused[1].from",
            "is before the pause before it",
        ),
        ([{"from": "2026-11-26T10:00:00Z", "to": None}], "paused[0].from", "in the future"),
        ([{"from": "2026-11-21T10:00", "to": None}], "paused[0].from", "is not an ISO 8601"),
    ],
)
def test_bad_pauses_name_the_pause_and_store_nothing(
    client: Any, paused: Any, field: str, message: str
) -> None:
    good = ticket(external_id="T-0")
    response = post(client, [good, ticket(paused=paused)])

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert message in error["message"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("paused", "field", "message"),
    [
        ([{"from": "2026-11-24T10:00:00Z", "to": None}], "paused[0].from", "before resolved_at"),
        ([{"from": "2026-11-21T10:00:00Z", "to": None}], "paused[0].to", "is not paused"),
    ],
)
def test_a_resolved_ticket_takes_no_pause_after_its_clock_stopped(
    client: Any, paused: Any, field: str, message: str
) -> None:
    response = post(client, [ticket(resolved_at="2026-11-23T12:00:00Z", paused=paused)])
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["field"], message in error["message"]) == (field, True)
    assert not Ticket.objects.exists()


def test_pauses_decide_whether_the_response_was_in_time(client: Any, agreement: Any) -> None:
    from credits.evaluation import evaluate

    plain = ticket(external_id="T-8")
    del plain["paused"]
    assert post(client, [ticket(), plain]).status_code == 201

    result = evaluate(
        agreement=agreement,
        period="2026-11",
        version=agreement.versions.get(),
        now=NOW,
        closed=False,
    )

    assert result is not None
    (figures,) = [o.figures for o in result.objectives if o.terms.key == "p1-first-response"]
    # Paused: 15 min on Friday + 30 min on Monday = met; unpaused: 30 + 60 min = breached.
    assert (figures.good, figures.bad) == (1, 1)


def test_pauses_add_no_query_per_ticket_to_the_evaluation(client: Any, agreement: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from credits.evaluation import evaluate

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            evaluate(
                agreement=agreement,
                period="2026-11",
                version=agreement.versions.get(),
                now=NOW,
                closed=False,
            )
        return len(captured)

    post(client, [ticket()])
    queries()  # the first evaluation also fills caches of the process
    one = queries()
    post(client, [ticket(external_id=f"T-{n}") for n in range(20, 60)])

    assert queries() == one
