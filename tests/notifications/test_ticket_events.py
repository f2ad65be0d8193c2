"""ticket.due_soon and ticket.breached: raised once per ticket and objective by the beat's
pass, through email, webhooks and the agreement's escalation levels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements.services import agreement_import
from notifications import tasks
from notifications.models import Escalation, Event
from notifications.services.ticket_events import ticket_events
from tests.credits.test_ticket_clocks import NOW, tickets  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _raised() -> list[tuple[str, str]]:
    return sorted(
        (e.type, e.payload["ticket"]["external_id"]) for e in Event.objects.order_by("pk")
    )


@pytest.mark.usefixtures("tickets")
def test_due_soon_at_75_percent_and_breached_once_each(
    agreement: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = ticket_events(agreement_id=agreement.pk, now=NOW)
    # T-1 has used 45 of its 60 min; T-4 passed its hour on Thursday; T-2 (30 min) is
    # not due soon yet and T-3 is paused.
    assert _raised() == [("ticket.breached", "T-4"), ("ticket.due_soon", "T-1")]
    assert len(first) == 2
    assert ticket_events(agreement_id=agreement.pk, now=NOW) == []

    breach = Event.objects.get(type="ticket.breached")
    assert breach.objective_key == "p1-first-response"
    assert breach.occurred_at == dt.datetime(2026, 11, 19, 10, tzinfo=dt.UTC)
    assert breach.payload["ticket"]["threshold_seconds"] == 3600
    assert "over its 1 h by 15 h" in breach.summary
    escalation = Escalation.objects.get()
    assert (escalation.kind, escalation.event_id) == ("ticket", breach.pk)
    assert "noc@example.com" in [m.to[0] for m in mailoutbox]  # level 1, told at once

    later = NOW + dt.timedelta(minutes=20)
    ticket_events(agreement_id=agreement.pk, now=later)
    assert _raised() == [
        ("ticket.breached", "T-1"),
        ("ticket.breached", "T-4"),
        ("ticket.due_soon", "T-1"),
        ("ticket.due_soon", "T-2"),
    ]
    assert Escalation.objects.count() == 2


@pytest.mark.usefixtures("tickets")
def test_the_beat_pass_raises_them(agreement: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        tasks.escalate()
        tasks.escalate()

    assert _raised() == [("ticket.breached", "T-4"), ("ticket.due_soon", "T-1")]


@pytest.mark.usefixtures("tickets")
def test_warn_at_percent_moves_the_warning(agreement: Any, document: dict[str, Any]) -> None:
    for o in document["objectives"]:
        if o["indicator"] == "response_time":
            o["warn_at_percent"] = 50
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        agreement_import(data=document, actor="test")

    ticket_events(agreement_id=agreement.pk, now=NOW)

    assert ("ticket.due_soon", "T-2") in _raised()  # 30 of 60 min


@pytest.mark.usefixtures("tickets")
def test_a_ticket_escalation_is_resolved_once_the_ticket_is_answered(
    agreement: Any, api: Any
) -> None:
    import json

    ticket_events(agreement_id=agreement.pk, now=NOW)
    escalation = Escalation.objects.get()
    assert escalation.resolved_at is None

    answered = {
        "customer": "acme",
        "external_id": "T-4",
        "priority": "P1",
        "opened_at": "2026-11-19T09:00:00Z",
        "first_response_at": "2026-11-23T08:55:00Z",
    }
    with time_machine.travel(NOW, tick=False):
        api("ingest").post(
            "/api/v1/tickets/", json.dumps([answered]), content_type="application/json"
        )
    ticket_events(agreement_id=agreement.pk, now=NOW)

    escalation.refresh_from_db()
    assert (escalation.resolved_at, escalation.resolution) == (NOW, "ticket no longer open")
    assert Event.objects.filter(type="ticket.breached").count() == 1
