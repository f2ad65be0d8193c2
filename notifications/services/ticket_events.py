"""Events of ticket clocks (rule 8): ``ticket.due_soon`` and ``ticket.breached``.

Raised by the beat's pass (``notifications.tasks.escalate`` fans out one
``raise_ticket_events`` task per agreement with a ticket objective), because a ticket
comes due with the clock, not with new data. Each is raised once per ticket and objective
(the event's idempotency key); a breach starts an escalation along the agreement's levels,
resolved once the ticket has its first response (or resolution) for that objective.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from agreements import display, engine
from agreements.models import Agreement
from credits.tickets import TicketLine, terms_for, ticket_board
from notifications.models import Escalation, Event, EventType
from notifications.services.escalation import escalation_resolve, escalation_start
from notifications.services.events import record_event
from notifications.services.payloads import iso_utc


def _key(type: str, agreement: Agreement, line: TicketLine) -> str:
    return f"{type}:{agreement.pk}:{line.ticket_id}:{line.objective}"


def _data(line: TicketLine) -> dict[str, Any]:
    return {
        "ticket": {
            "external_id": line.external_id,
            "priority": line.priority,
            "objective": line.objective,
            "opened_at": iso_utc(line.opened_at),
            "elapsed_seconds": int(line.elapsed.total_seconds()),
            "threshold_seconds": int(line.threshold.total_seconds()),
            "due_at": iso_utc(line.due_at),
            "paused": line.paused,
        }
    }


def _steps(agreement: Agreement, lines: list[TicketLine]) -> list[tuple[str, TicketLine]]:
    """(event type, line) not raised yet: breached ones, and open ones past their warning
    share that have not breached (a ticket found already breached is not warned late)."""
    wanted: dict[str, tuple[str, TicketLine]] = {}
    for line in lines:
        if line.state == "breached":
            wanted[_key(EventType.TICKET_BREACHED, agreement, line)] = (
                EventType.TICKET_BREACHED,
                line,
            )
        elif line.open and not line.paused and line.due_soon:
            wanted[_key(EventType.TICKET_DUE_SOON, agreement, line)] = (
                EventType.TICKET_DUE_SOON,
                line,
            )
    known = set(
        Event.objects.filter(idempotency_key__in=list(wanted)).values_list(
            "idempotency_key", flat=True
        )
    )
    return [step for key, step in wanted.items() if key not in known]


def ticket_events(*, agreement_id: int, now: dt.datetime) -> list[Event]:
    """Raise the due-soon and breached events of an agreement's tickets as of ``now``.

    Looks at the open tickets and those opened in the current period (a late answer
    breaches too). Idempotent: a pair already raised is skipped, with one query for all.
    Returns the events newly raised.
    """
    agreement = Agreement.objects.select_related("customer").filter(pk=agreement_id).first()
    if agreement is None:
        return []
    terms = terms_for(agreement, engine.period_id(now, agreement.timezone))
    if terms is None:
        return []
    board = ticket_board(agreement=agreement, terms=terms, now=now)
    _resolve_answered(agreement, board.open, now)
    raised = []
    for type, line in _steps(agreement, board.open + board.breached):
        with transaction.atomic():
            event = _raise(agreement, type, line, now)
        if event is not None:
            raised.append(event)
    return raised


def _resolve_answered(agreement: Agreement, open_lines: list[TicketLine], now: dt.datetime) -> None:
    """Resolve the ticket escalations whose ticket is no longer open under its objective."""
    still_open = {(line.external_id, line.objective) for line in open_lines}
    escalations = (
        Escalation.objects.open()
        .filter(agreement=agreement, kind=Escalation.Kind.TICKET)
        .select_related("event")
    )
    for escalation in escalations:
        ticket = escalation.event.payload.get("ticket", {})
        if (ticket.get("external_id"), ticket.get("objective")) not in still_open:
            escalation_resolve(escalation=escalation, reason="ticket no longer open", now=now)


def _raise(agreement: Agreement, type: str, line: TicketLine, now: dt.datetime) -> Event | None:
    threshold = display.duration(line.threshold.total_seconds())
    if type == EventType.TICKET_BREACHED:
        summary = (
            f"ticket {line.external_id} ({line.priority}) breached {line.objective}: "
            f"over its {threshold} by {display.duration(line.over_seconds)}"
        )
        at = line.due_at or now
    else:
        summary = (
            f"ticket {line.external_id} ({line.priority}) due soon under {line.objective}: "
            f"{display.time_left(line.left_seconds, line.coverage)}"
        )
        at = now
    event = record_event(
        agreement=agreement,
        type=type,
        key=_key(type, agreement, line),
        occurred_at=at,
        summary=summary,
        data=_data(line),
        objective_key=line.objective,
    )
    if event is not None and type == EventType.TICKET_BREACHED:
        escalation_start(
            event=event,
            kind=Escalation.Kind.TICKET,
            subject=f"{agreement.key}: {summary}",
            objective_key=line.objective,
        )
    return event
