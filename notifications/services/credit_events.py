"""Events of the credits layer: objective status, period closed, credit issued, claims."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

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

    The last status per period and objective is kept here, so the same change reported
    again (another recompute, a re-sent signal, a second worker) raises nothing, and a
    second breach after a recovery is a new episode with its own event.
    """
    period = Period.objects.select_related("agreement__customer").get(pk=period_id)
    if period.is_closed:
        # Reported before the period closed and handled after: closing settled it (and
        # resolved its escalations), so a late report starts nothing.
        return None
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
    if current != "breached":
        for escalation in Escalation.objects.filter(
            period=period, objective_key=objective_key, resolved_at__isnull=True
        ):
            escalation_resolve(escalation=escalation, reason=f"objective {current}", now=at)
    if type is None:
        return None
    agreement = period.agreement
    evaluation: dict[str, Any] = dict(
        Evaluation.objects.filter(
            period=period, revision=period.revision, objective_key=objective_key
        )
        .values("achieved", "target", "budget_remaining_percent")
        .first()
        or {}
    )
    words: dict[str, str] = {
        EventType.OBJECTIVE_AT_RISK: "is at risk",
        EventType.OBJECTIVE_BREACHED: "is breached",
        EventType.OBJECTIVE_RECOVERED: "has recovered",
    }
    event = record_event(
        agreement=agreement,
        type=type,
        key=f"{type}:{period.pk}:{objective_key}:{state.episode}",
        occurred_at=at,
        objective_key=objective_key,
        summary=f"{objective_key} {words[type]} in {period.period}",
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
    if event is not None and type == EventType.OBJECTIVE_BREACHED:
        escalation_start(
            event=event,
            kind=Escalation.Kind.BREACH,
            subject=f"{agreement.key}: {objective_key} breached in {period.period}",
            period=period,
            objective_key=objective_key,
        )
    return event


def _objective_event_type(previous: str, current: str) -> str | None:
    if current == "breached":
        return EventType.OBJECTIVE_BREACHED
    if current == "at_risk":
        return (
            EventType.OBJECTIVE_RECOVERED if previous == "breached" else EventType.OBJECTIVE_AT_RISK
        )
    if current == "met" and previous in ("at_risk", "breached"):
        return EventType.OBJECTIVE_RECOVERED
    return None


@transaction.atomic
def period_closed(*, period_id: int, at: dt.datetime) -> Event | None:
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
