"""Events of the credits layer: objective status, period closed, credit issued, claims."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from agreements.engine import Status
from credits.models import Claim, Evaluation, LedgerEntry, Period
from notifications.models import Escalation, Event, EventType, ObjectiveState
from notifications.services.escalation import escalation_resolve, escalation_start
from notifications.services.events import record_event
from notifications.services.payloads import iso_utc, json_number


@transaction.atomic
def record_objective_status(
    *, period_id: int, objective_key: str, current: str, at: dt.datetime
) -> Event | None:
    """An open period's objective changed status: at risk, breached or recovered.

    ``current`` is the new status ("met", "at_risk", "breached", ...) and ``at`` the
    aware time of the recompute that saw it. Returns the event raised, or None when the
    change raises none (the same change again, a stale report, a closed period, or a
    change that is no news such as a first "met"). Raises Period.DoesNotExist for an
    unknown period.

    The last status per period and objective is kept here, so the same change reported
    again (another recompute, a re-sent signal, a second worker) raises nothing, and a
    second breach after a recovery is a new episode with its own event.
    """
    period = Period.objects.select_related("agreement__customer").get(pk=period_id)
    if period.is_closed:
        # Reported before the period closed and handled after: closing settled it (and
        # resolved its escalations), so a late report starts nothing.
        return None
    change = _note_status(period, objective_key, current, at)
    if change is None:
        return None
    previous, type, episode = change
    if current != Status.BREACHED:
        for escalation in Escalation.objects.filter(
            period=period, objective_key=objective_key, resolved_at__isnull=True
        ):
            escalation_resolve(escalation=escalation, reason=f"objective {current}", now=at)
    if type is None:
        return None
    event = _objective_event(
        period, objective_key, type=type, previous=previous, current=current, episode=episode, at=at
    )
    if event is not None and type == EventType.OBJECTIVE_BREACHED:
        escalation_start(
            event=event,
            kind=Escalation.Kind.BREACH,
            subject=f"{period.agreement.key}: {objective_key} breached in {period.period}",
            period=period,
            objective_key=objective_key,
        )
    return event


def _note_status(
    period: Period, objective_key: str, current: str, at: dt.datetime
) -> tuple[str, str | None, int] | None:
    """Keep the objective's new status: (previous status, event type or None, episode).

    None when there is nothing to keep: the same status again, or a report older than
    the last one kept. The row is locked until the caller's transaction ends.
    """
    ObjectiveState.objects.get_or_create(
        period=period, objective_key=objective_key, defaults={"status": "", "changed_at": at}
    )
    state = ObjectiveState.objects.select_for_update().get(
        period=period, objective_key=objective_key
    )
    if state.status == current or at < state.changed_at:
        return None  # the same change again, or a stale report overtaken by a newer one
    previous = state.status
    type = _objective_event_type(previous, current)
    state.status, state.changed_at = current, at
    if type is not None:
        state.episode += 1
    state.save()
    return previous, type, state.episode


OBJECTIVE_WORDS: dict[str, str] = {
    EventType.OBJECTIVE_AT_RISK: "is at risk",
    EventType.OBJECTIVE_BREACHED: "is breached",
    EventType.OBJECTIVE_RECOVERED: "has recovered",
}


def _objective_event(
    period: Period,
    objective_key: str,
    *,
    type: str,
    previous: str,
    current: str,
    episode: int,
    at: dt.datetime,
) -> Event | None:
    """Record the event of an objective's episode, with its figures from the evaluation."""
    evaluation: dict[str, Any] = dict(
        Evaluation.objects.filter(
            period=period, revision=period.revision, objective_key=objective_key
        )
        .values("achieved", "target", "budget_remaining_percent")
        .first()
        or {}
    )
    return record_event(
        agreement=period.agreement,
        type=type,
        key=f"{type}:{period.pk}:{objective_key}:{episode}",
        occurred_at=at,
        objective_key=objective_key,
        summary=f"{objective_key} {OBJECTIVE_WORDS[type]} in {period.period}",
        data={
            "period": period.period,
            "objective": objective_key,
            "status": current,
            "previous": previous or None,
            "achieved": json_number(evaluation.get("achieved")),
            "target": json_number(evaluation.get("target")),
            "budget_remaining_percent": json_number(evaluation.get("budget_remaining_percent")),
        },
    )


def _objective_event_type(previous: str, current: str) -> str | None:
    if current == Status.BREACHED:
        return EventType.OBJECTIVE_BREACHED
    if current == Status.AT_RISK:
        return (
            EventType.OBJECTIVE_RECOVERED
            if previous == Status.BREACHED
            else EventType.OBJECTIVE_AT_RISK
        )
    if current == Status.MET and previous in (Status.AT_RISK, Status.BREACHED):
        return EventType.OBJECTIVE_RECOVERED
    return None


@transaction.atomic
def period_closed(*, period_id: int, at: dt.datetime) -> Event | None:
    """A period closed: resolve its escalations and raise ``period.closed`` once per revision.

    ``at`` is the aware close time. Returns the event, or None when this revision's was
    raised already. Raises Period.DoesNotExist for an unknown period.
    """
    period = Period.objects.select_related("agreement__customer").get(pk=period_id)
    for escalation in Escalation.objects.filter(period=period, resolved_at__isnull=True):
        escalation_resolve(escalation=escalation, reason="period closed", now=at)
    agreement = period.agreement
    amount = period.credit_amount
    return record_event(
        agreement=agreement,
        type=EventType.PERIOD_CLOSED,
        key=f"period.closed:{period.pk}:r{period.revision}",
        occurred_at=at,
        summary=f"{period.period} closed: credit {amount or 0:.2f} {agreement.currency}",
        data={
            "period": period.period,
            "revision": period.revision,
            "credit": {"amount": f"{amount or 0:.2f}", "currency": agreement.currency},
            "objectives": dict(
                Evaluation.objects.filter(period=period, revision=period.revision).values_list(
                    "objective_key", "status"
                )
            ),
        },
    )


@transaction.atomic
def credit_entered(*, entry_id: int) -> Event | None:
    """Raise ``credit.issued`` for a credit entry of the ledger; None for other kinds,
    an unknown entry, or an entry already announced."""
    entry = (
        LedgerEntry.objects.select_related("agreement__customer", "period")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None or entry.kind != LedgerEntry.Kind.CREDIT:
        return None
    period = entry.period.period if entry.period else None
    return record_event(
        agreement=entry.agreement,
        type=EventType.CREDIT_ISSUED,
        key=f"credit.issued:{entry.pk}",
        occurred_at=entry.created_at,
        summary=f"credit of {entry.amount:.2f} {entry.currency} issued"
        + (f" for {period}" if period else ""),
        data={
            "period": period,
            "credit": {"amount": f"{entry.amount:.2f}", "currency": entry.currency},
            "reason": entry.reason,
        },
    )


CLAIM_EVENTS = {
    Claim.State.CLAIMABLE: (EventType.CREDIT_CLAIMABLE, "credit of {amount} claimable for {p}"),
    Claim.State.APPROVED: (EventType.CLAIM_APPROVED, "claim of {amount} for {p} approved"),
    Claim.State.REJECTED: (EventType.CLAIM_REJECTED, "claim of {amount} for {p} rejected"),
}


@transaction.atomic
def claim_changed(*, claim_id: int, state: str, at: dt.datetime) -> Event | None:
    """Raise the event of a claim's new ``state`` (claimable, approved, rejected).

    Other states, an unknown claim, or a state already announced raise nothing (None).
    """
    if state not in CLAIM_EVENTS:
        return None
    claim = (
        Claim.objects.select_related("agreement__customer", "period").filter(pk=claim_id).first()
    )
    if claim is None:
        return None
    type, words = CLAIM_EVENTS[Claim.State(state)]
    amount = f"{claim.amount:.2f} {claim.currency}"
    return record_event(
        agreement=claim.agreement,
        type=type,
        key=f"{type}:{claim.pk}",
        occurred_at=at,
        summary=words.format(amount=amount, p=claim.period.period),
        data={
            "period": claim.period.period,
            "claim": {
                "id": claim.pk,
                "state": state,
                "amount": f"{claim.amount:.2f}",
                "currency": claim.currency,
                "claimable_until": iso_utc(claim.claimable_until),
                "reason": claim.reason,
            },
        },
    )
