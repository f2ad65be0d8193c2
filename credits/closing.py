"""Closing periods (SPEC §3 rule 13): the final evaluation, the credit, and the
watermarks after which arriving data is late."""

from __future__ import annotations

import datetime as dt
import time
from functools import partial

from django.db import OperationalError, transaction
from django.utils import timezone

from agreements.models import Agreement, Customer, Service
from credits import ledger, signals
from credits.evaluation import TICKET_KINDS, PeriodResult, evaluate
from credits.failures import record_failure, resolve_failures
from credits.models import Failure, Period
from credits.recompute import batches, periods_due, recompute_agreements, version_in_force
from credits.storage import period_row, set_credit, store_evaluations

DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE for a transaction chosen as victim


class CloseError(ValueError):
    """A close that rule 13 refuses; the message says when the period can close."""


def _refuse_the_future(now: dt.datetime) -> None:
    real = timezone.now()
    if now > real:
        raise CloseError(
            f"{now.isoformat()} is later than the current time "
            f"({real.replace(microsecond=0).isoformat()}); periods close only once their "
            "grace time has passed on the real clock"
        )


def can_close(period: Period, *, now: dt.datetime | None = None) -> bool:
    """True when the period is open and its grace time has passed on the real clock."""
    return not period.is_closed and period.closes_at <= min(now or timezone.now(), timezone.now())


def preview_close(*, period_id: int) -> PeriodResult | None:
    """The figures and credit closing the period now would enter, stored nowhere."""
    row = Period.objects.select_related("agreement", "terms_version").get(pk=period_id)
    return _final_evaluation(row, timezone.now())


def _final_evaluation(row: Period, now: dt.datetime) -> PeriodResult | None:
    """The period's figures as closing freezes them: under the terms in force for it,
    measured up to its end (``now`` is past it when closing)."""
    versions = list(row.agreement.versions.all())
    version = version_in_force(versions, row.period) or row.terms_version
    return evaluate(
        agreement=row.agreement,
        period=row.period,
        version=version,
        now=max(now, row.end),
        closed=True,
    )


def close_due_periods(*, now: dt.datetime | None = None) -> list[Period]:
    """Close every period whose grace time has passed (SPEC rule 13).

    ``now`` replays an earlier instant; one later than the real clock raises CloseError.
    """
    now = now or timezone.now()
    _refuse_the_future(now)
    closed = []
    # Periods must exist to be closed: make sure every agreement's past periods have rows.
    ensure_period_rows(now=now)
    for row_id, agreement_id, pid in (
        Period.objects.open()
        .filter(closes_at__lte=now)
        .order_by("closes_at")
        .values_list("id", "agreement_id", "period")
    ):
        # A bulkhead: one period that cannot close is kept for staff and retried by the
        # next pass; every other period still closes.
        try:
            period = _close_retrying(row_id, now)
        except Exception as error:
            record_failure(
                agreement_id=agreement_id,
                stage=Failure.Stage.CLOSE,
                error=error,
                now=now,
                period=pid,
            )
            continue
        if period is not None:
            resolve_failures(
                agreement_ids=[agreement_id], stage=Failure.Stage.CLOSE, now=now, period=pid
            )
            closed.append(period)
    return closed


def _close_retrying(period_id: int, now: dt.datetime) -> Period | None:
    """close_period, tried again when the database chose it as a deadlock's victim (its
    transaction was rolled back whole, so trying again is safe; closing is idempotent)."""
    for attempt in range(3):
        try:
            return close_period(period_id=period_id, now=now)
        except OperationalError as error:
            if getattr(error.__cause__, "pgcode", None) != DEADLOCK_DETECTED or attempt == 2:
                raise
            time.sleep(0.05 * (attempt + 1))
    return None


def ensure_period_rows(*, now: dt.datetime) -> None:
    """Create missing rows of begun periods (evaluated as open; closing freezes them)."""
    have: dict[int, set[str]] = {}
    for agreement_id, pid in Period.objects.values_list("agreement_id", "period"):
        have.setdefault(agreement_id, set()).add(pid)
    missing = [
        a.pk
        for a in Agreement.objects.order_by("pk")
        if not set(periods_due(a, now)) <= have.get(a.pk, set())
    ]
    for batch in batches(missing):
        recompute_agreements(agreement_ids=batch, now=now)


@transaction.atomic
def close_period(*, period_id: int, now: dt.datetime | None = None) -> Period | None:
    """Freeze one period: final evaluation, credit, and the late-data watermarks.

    Idempotent: a period already closed (by another worker a moment ago) is left alone.
    Raises CloseError, naming the instant it can close, when its grace time has not passed
    on the real clock (rule 13), whatever ``now`` says.
    """
    now = now or timezone.now()
    _refuse_the_future(now)
    # One lock order for every writer of periods: the agreement first (recompute_agreements
    # locks agreements in id order, then their periods), then the period, then services in
    # id order (_advance_watermarks). Locking the period first deadlocked concurrent
    # closers against a recompute holding the agreement (the ledger's foreign key waits
    # on the agreement row).
    agreement_id = Period.objects.values_list("agreement_id", flat=True).get(pk=period_id)
    list(Agreement.objects.select_for_update().filter(pk=agreement_id).values_list("pk"))
    row = (
        Period.objects.select_for_update()
        .select_related("agreement", "terms_version")
        .get(pk=period_id)
    )
    if row.is_closed:
        return None
    if row.closes_at > now:
        raise CloseError(
            f"{row.agreement.key} {row.period} can close from "
            f"{row.closes_at:%Y-%m-%d %H:%M} UTC, when its data grace time has passed"
        )
    result = _final_evaluation(row, now)
    if result is None:
        return None
    row = period_row(row.agreement, row, result)
    store_evaluations([(row, result)], now)
    row.state = Period.State.CLOSED
    row.closed_at = now
    row.computed_at = now
    set_credit(row, result)
    row.save()
    _advance_watermarks(row, result)
    ledger.on_period_closed(period=row, now=now)
    ledger.enter_bonus(period=row, now=now)
    transaction.on_commit(partial(signals.period_closed.send, sender=Period, period=row, at=now))
    return row


def _advance_watermarks(row: Period, result: PeriodResult) -> None:
    """Data older than a closed period's end is late from now on (flagged at ingestion)."""
    keys = {o.service for o in result.terms.objectives if o.service}
    keys |= {key for o in result.terms.objectives for key in o.services}
    for service in Service.objects.filter(key__in=keys).order_by("pk"):  # the lock order
        if service.closed_until is None or service.closed_until < row.end:
            Service.objects.filter(pk=service.pk).update(closed_until=row.end)
    customer: Customer = row.agreement.customer
    if any(o.kind in TICKET_KINDS for o in result.terms.objectives) and (
        customer.closed_until is None or customer.closed_until < row.end
    ):
        Customer.objects.filter(pk=customer.pk).update(closed_until=row.end)
