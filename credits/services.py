"""Recomputing and closing periods (SPEC §3 rules 1-13) for one agreement at a time."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from agreements import engine
from agreements.models import Agreement, Customer, Service, TermsVersion
from credits import measure, signals
from credits.models import Evaluation, Period
from credits.terms import ObjectiveTerms, Terms, terms_of
from metrics.models import Incident, Maintenance, Ticket

log = logging.getLogger(__name__)
HOUR = dt.timedelta(hours=1)
Q8 = Decimal("0.00000001")


@dataclass(frozen=True)
class ObjectiveResult:
    terms: ObjectiveTerms
    figures: engine.Figures
    budget: engine.Budget
    burn_rate_1h: Decimal | None
    status: str
    credit_percent: Decimal


@dataclass(frozen=True)
class PeriodResult:
    period: str
    bounds: engine.Interval
    version: TermsVersion
    terms: Terms
    objectives: tuple[ObjectiveResult, ...]
    closed: bool
    subtotal: Decimal
    cap: Decimal
    credit: Decimal


def version_in_force(versions: list[TermsVersion], period: str) -> TermsVersion | None:
    eligible = [v for v in versions if v.effective_period <= period]
    if not eligible:
        return None
    return max(eligible, key=lambda v: (v.effective_period, v.number))


def periods_due(agreement: Agreement, now: dt.datetime) -> list[str]:
    """Every period of the agreement that has started by ``now``."""
    last = engine.period_id(now, agreement.timezone)
    first = f"{agreement.effective_from:%Y-%m}"
    if agreement.effective_to is not None:
        last = min(last, f"{agreement.effective_to:%Y-%m}")
    out = []
    period = first
    while period <= last:
        out.append(period)
        period = engine.shift_period(period, 1)
    return out


def evaluate(
    *, agreement: Agreement, period: str, version: TermsVersion, now: dt.datetime, closed: bool
) -> PeriodResult | None:
    """Figures of every objective of one period under the terms of ``version``."""
    terms = terms_of(version.terms)
    bounds = engine.period_bounds(period, terms.timezone, terms.effective_from, terms.effective_to)
    if bounds is None:
        return None
    start, end = bounds
    # An open period is measured up to now: the future is neither good nor bad time.
    window_end = min(end, now)
    window = (start, max(start, window_end))
    services = dict(
        Service.objects.filter(
            key__in={o.service for o in terms.objectives if o.service}
        ).values_list("key", "id")
    )
    windows_by_service: dict[int, list[engine.Maintenance]] = {}
    for m in Maintenance.objects.filter(
        service_id__in=services.values(), start__lt=end, end__gt=start
    ).only("service_id", "start", "end", "announced_at"):
        windows_by_service.setdefault(m.service_id, []).append(
            engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
        )

    covered: dict[str, list[engine.Interval]] = {}
    last_hour: dict[str, list[engine.Interval]] = {}
    hour_window = (max(start, window[1] - HOUR), window[1])
    for o in terms.objectives:
        if o.service is None:
            continue
        sid = services.get(o.service)
        windows = windows_by_service.get(sid, []) if sid else []
        covered[o.key] = engine.covered_time(
            period=window,
            tz=terms.timezone,
            calendar=o.calendar,
            maintenance=windows,
            notice_hours=terms.maintenance_notice_hours,
        )
        last_hour[o.key] = engine.clip(covered[o.key], hour_window)

    # One batched read per kind of measurement, whatever the number of objectives.
    probe_requests: list[measure.Request] = []
    latency_requests: list[tuple[str, int, Sequence[engine.Interval], int]] = []
    event_requests: list[measure.Request] = []
    for o in terms.objectives:
        sid = services.get(o.service or "")
        if sid is None:
            continue
        if o.kind == "availability:probes":
            probe_requests.append((o.key, sid, engine.eligible_minute_ranges(covered[o.key])))
            probe_requests.append(
                (f"{o.key}@1h", sid, engine.eligible_minute_ranges(last_hour[o.key]))
            )
        elif o.kind == "latency":
            latency_requests.append((o.key, sid, covered[o.key], o.threshold_ms or 0))
            latency_requests.append((f"{o.key}@1h", sid, last_hour[o.key], o.threshold_ms or 0))
        elif o.kind == "ratio":
            event_requests.append((o.key, sid, covered[o.key]))
            event_requests.append((f"{o.key}@1h", sid, last_hour[o.key]))
    if latency_requests:
        _ensure_thresholds({(sid, t) for _, sid, _, t in latency_requests})
    states = measure.probe_minute_states(probe_requests) if probe_requests else {}
    latencies = measure.latency_counts(latency_requests) if latency_requests else {}
    events = measure.event_sums(event_requests) if event_requests else {}

    incident_services = [
        services[o.service]
        for o in terms.objectives
        if o.kind == "availability:incidents" and o.service in services
    ]
    outages: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    if incident_services:
        for sid, began, resolved in (
            Incident.objects.filter(
                service_id__in=incident_services,
                impact=Incident.Impact.OUTAGE,
                started_at__lt=window[1],
            )
            .exclude(resolved_at__lte=start)
            .values_list("service_id", "started_at", "resolved_at")
        ):
            outages.setdefault(sid, []).append((began, resolved))
    ticket_objectives = [
        o for o in terms.objectives if o.kind in ("response_time", "resolution_time")
    ]
    tickets: list[tuple[str, dt.datetime, dt.datetime | None, dt.datetime | None]] = []
    if ticket_objectives:
        tickets = list(
            Ticket.objects.filter(
                customer_id=agreement.customer_id, opened_at__gte=start, opened_at__lt=end
            ).values_list("priority", "opened_at", "first_response_at", "resolved_at")
        )

    results = []
    for o in terms.objectives:
        sid = services.get(o.service or "")
        hour: engine.Figures | None = None
        if o.kind == "availability:probes":
            ranges = engine.eligible_minute_ranges(covered.get(o.key, []))
            eligible = sum(int((b - a).total_seconds()) // 60 for a, b in ranges)
            up, down = states.get(o.key, (0, 0))
            figures = engine.availability_from_minute_states(up=up, down=down, eligible=eligible)
            h_up, h_down = states.get(f"{o.key}@1h", (0, 0))
            hour = engine.availability_from_minute_states(
                up=h_up, down=h_down, eligible=h_up + h_down
            )
        elif o.kind == "availability:incidents":
            spans = outages.get(sid, []) if sid else []
            figures = engine.availability_from_incidents(
                covered=covered.get(o.key, []), outages=spans, now=now
            )
            hour = engine.availability_from_incidents(
                covered=last_hour.get(o.key, []), outages=spans, now=now
            )
        elif o.kind == "latency":
            fast, total = latencies.get(o.key, (0, 0))
            figures = _counted(fast, total)
            hour = _counted(*latencies.get(f"{o.key}@1h", (0, 0)))
        elif o.kind == "ratio":
            figures = _counted(*events.get(o.key, (0, 0)))
            hour = _counted(*events.get(f"{o.key}@1h", (0, 0)))
        else:
            end_field = 2 if o.indicator == "response_time" else 3
            chosen = [
                engine.Ticket(opened_at=t[1], end_at=t[end_field])  # type: ignore[arg-type]
                for t in tickets
                if not o.priority or t[0] == o.priority
            ]
            figures = engine.ticket_times(
                tickets=chosen,
                tz=terms.timezone,
                calendar=o.calendar,
                threshold=o.threshold or dt.timedelta(0),
                now=now,
            )
        budget = engine.error_budget(target=o.target, good=figures.good, bad=figures.bad)
        burn = (
            engine.burn_rate(target=o.target, good=hour.good, bad=hour.bad)
            if hour is not None and not closed
            else None
        )
        status = engine.status(
            achieved=figures.achieved,
            target=o.target,
            budget=budget,
            burn_rate_1h=burn,
            closed=closed,
        )
        percent = (
            engine.credit_percent(figures.achieved, o.tiers)
            if figures.achieved is not None
            else Decimal(0)
        )
        results.append(ObjectiveResult(o, figures, budget, burn, status, percent))

    fee = terms.monthly_fee
    subtotal = sum((fee * r.credit_percent / 100 for r in results), Decimal(0))
    cap = (fee * terms.credit_cap_percent / 100).quantize(Decimal("0.01"))
    credit = engine.period_credit(
        monthly_fee=fee,
        percents=[r.credit_percent for r in results],
        cap_percent=terms.credit_cap_percent,
    )
    return PeriodResult(
        period, bounds, version, terms, tuple(results), closed, subtotal, cap, credit
    )


def _ensure_thresholds(pairs: set[tuple[int, int]]) -> None:
    """Latency thresholds in use get a per-day summary (back-filled the first time)."""
    from metrics.models import LatencyThreshold
    from metrics.services import latency_threshold_register

    have = set(
        LatencyThreshold.objects.filter(service_id__in={s for s, _ in pairs}).values_list(
            "service_id", "threshold_ms"
        )
    )
    for service_id, threshold in sorted(pairs - have):
        latency_threshold_register(service_id=service_id, threshold_ms=threshold)


def _counted(good_or_fast: int, total: int) -> engine.Figures:
    good = Decimal(good_or_fast)
    bad = Decimal(total - good_or_fast)
    achieved = (good * 100 / (good + bad)) if total else None
    return engine.Figures(
        good=good, bad=bad, achieved=achieved, completeness=None, eligible=Decimal(total)
    )


def _store(row: Period, result: PeriodResult, now: dt.datetime, revision: int) -> None:
    Evaluation.objects.filter(period=row, revision=revision).delete()
    Evaluation.objects.bulk_create(
        Evaluation(
            period=row,
            revision=revision,
            position=r.terms.position,
            objective_key=r.terms.key,
            indicator=r.terms.indicator,
            unit=r.terms.unit,
            target=r.terms.target,
            good=r.figures.good.quantize(Decimal("0.000001")),
            bad=r.figures.bad.quantize(Decimal("0.000001")),
            achieved=_q(r.figures.achieved),
            completeness=_q(r.figures.completeness),
            eligible=r.figures.eligible.quantize(Decimal("0.000001")),
            pending=r.figures.pending,
            status=r.status,
            budget_total=r.budget.total.quantize(Decimal("0.000001")),
            budget_spent=r.budget.spent.quantize(Decimal("0.000001")),
            budget_remaining=r.budget.remaining.quantize(Decimal("0.000001")),
            budget_remaining_percent=_q(r.budget.remaining_percent, Decimal("0.000001")),
            burn_rate_1h=_burn(r.burn_rate_1h),
            credit_percent=r.credit_percent,
            computed_at=now,
        )
        for r in result.objectives
    )


def _q(value: Decimal | None, step: Decimal = Q8) -> Decimal | None:
    return None if value is None else value.quantize(step, rounding=ROUND_HALF_EVEN)


def _burn(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite() or value > Decimal("99999999999999"):
        return Decimal("99999999999999")
    return value.quantize(Decimal("0.000001"))


@dataclass
class RecomputeSummary:
    agreement: str
    evaluated: list[str]
    skipped_closed: list[str]

    def line(self) -> str:
        done = ", ".join(self.evaluated) or "nothing open"
        return f"{self.agreement}: evaluated {done}"


def recompute_agreement(
    *, agreement_id: int, now: dt.datetime | None = None, period: str | None = None
) -> RecomputeSummary:
    """Evaluate every open period of one agreement (or just ``period``); closed ones stay frozen.

    The agreement row is locked for the duration, so two workers never evaluate the same
    agreement at once; running it again gives the same state.
    """
    now = now or timezone.now()
    with transaction.atomic():
        agreement = Agreement.objects.select_for_update().get(pk=agreement_id)
        summary = RecomputeSummary(agreement.key, [], [])
        versions = list(agreement.versions.all())
        existing = {p.period: p for p in Period.objects.filter(agreement=agreement)}
        wanted = periods_due(agreement, now)
        if period is not None:
            wanted = [p for p in wanted if p == period]
        for pid in wanted:
            row = existing.get(pid)
            if row is not None and row.is_closed:
                summary.skipped_closed.append(pid)
                continue
            version = version_in_force(versions, pid)
            if version is None:
                continue
            result = evaluate(
                agreement=agreement, period=pid, version=version, now=now, closed=False
            )
            if result is None:
                continue
            previous = (
                dict(
                    Evaluation.objects.filter(period=row, revision=row.revision).values_list(
                        "objective_key", "status"
                    )
                )
                if row is not None
                else {}
            )
            row = _period_row(agreement, row, result)
            row.computed_at = now
            row.save()
            _store(row, result, now, row.revision)
            _announce_changes(agreement, row, previous, result, now)
            summary.evaluated.append(pid)
    return summary


def _announce_changes(
    agreement: Agreement,
    row: Period,
    previous: dict[str, str],
    result: PeriodResult,
    now: dt.datetime,
) -> None:
    for r in result.objectives:
        before = previous.get(r.terms.key)
        if before != r.status:
            transaction.on_commit(
                partial(
                    signals.objective_status_changed.send,
                    sender=Period,
                    agreement=agreement,
                    period=row,
                    objective_key=r.terms.key,
                    previous=before,
                    current=r.status,
                    at=now,
                )
            )


def _period_row(agreement: Agreement, row: Period | None, result: PeriodResult) -> Period:
    start, end = result.bounds
    closes_at = end + dt.timedelta(hours=result.terms.data_grace_hours)
    if row is None:
        row = Period(agreement=agreement, period=result.period)
    row.start, row.end, row.closes_at = start, end, closes_at
    row.terms_version = result.version
    return row


def close_due_periods(*, now: dt.datetime | None = None) -> list[Period]:
    """Close every period whose grace time has passed (SPEC rule 13)."""
    now = now or timezone.now()
    closed = []
    # Periods must exist to be closed: make sure every agreement's past periods have rows.
    for agreement_id in Agreement.objects.values_list("id", flat=True):
        ensure_period_rows(agreement_id=agreement_id, now=now)
    for row_id in (
        Period.objects.open()
        .filter(closes_at__lte=now)
        .order_by("closes_at")
        .values_list("id", flat=True)
    ):
        period = close_period(period_id=row_id, now=now)
        if period is not None:
            closed.append(period)
    return closed


def ensure_period_rows(*, agreement_id: int, now: dt.datetime) -> None:
    """Create missing rows of ended periods (not evaluated yet: closing evaluates them)."""
    agreement = Agreement.objects.get(pk=agreement_id)
    have = set(Period.objects.filter(agreement=agreement).values_list("period", flat=True))
    missing = [p for p in periods_due(agreement, now) if p not in have]
    if missing:
        recompute_agreement(agreement_id=agreement_id, now=now)


@transaction.atomic
def close_period(*, period_id: int, now: dt.datetime | None = None) -> Period | None:
    """Freeze one period: final evaluation, credit, and the late-data watermarks.

    Idempotent: a period already closed (by another worker a moment ago) is left alone.
    """
    now = now or timezone.now()
    row = (
        Period.objects.select_for_update()
        .select_related("agreement", "terms_version")
        .get(pk=period_id)
    )
    if row.is_closed:
        return None
    versions = list(row.agreement.versions.all())
    version = version_in_force(versions, row.period) or row.terms_version
    # Measured up to the end of the period: ``now`` is past it when closing.
    result = evaluate(
        agreement=row.agreement,
        period=row.period,
        version=version,
        now=max(now, row.end),
        closed=True,
    )
    if result is None:
        return None
    row = _period_row(row.agreement, row, result)
    _store(row, result, now, row.revision)
    row.state = Period.State.CLOSED
    row.closed_at = now
    row.computed_at = now
    row.credit_subtotal = result.subtotal.quantize(Decimal("0.0001"))
    row.credit_cap = result.cap
    row.credit_amount = result.credit
    row.save()
    _advance_watermarks(row, result)
    from credits import ledger  # the ledger builds on closed periods

    ledger.on_period_closed(period=row, now=now)
    transaction.on_commit(partial(signals.period_closed.send, sender=Period, period=row, at=now))
    return row


def _advance_watermarks(row: Period, result: PeriodResult) -> None:
    """Data older than a closed period's end is late from now on (flagged at ingestion)."""
    keys = {o.service for o in result.terms.objectives if o.service}
    for service in Service.objects.filter(key__in=keys):
        if service.closed_until is None or service.closed_until < row.end:
            Service.objects.filter(pk=service.pk).update(closed_until=row.end)
    customer: Customer = row.agreement.customer
    if any(o.kind in ("response_time", "resolution_time") for o in result.terms.objectives) and (
        customer.closed_until is None or customer.closed_until < row.end
    ):
        Customer.objects.filter(pk=customer.pk).update(closed_until=row.end)


def agreements_using(
    *, service_ids: Iterable[int] = (), customer_ids: Iterable[int] = ()
) -> list[int]:
    ids = set(
        Agreement.objects.filter(objectives__service_id__in=list(service_ids)).values_list(
            "id", flat=True
        )
    )
    customer_ids = list(customer_ids)
    if customer_ids:
        ids.update(
            Agreement.objects.filter(customer_id__in=customer_ids).values_list("id", flat=True)
        )
    return sorted(ids)


class RestateError(ValueError):
    pass


@transaction.atomic
def restate_period(
    *, period_id: int, actor: str, reason: str, now: dt.datetime | None = None
) -> Period:
    """Re-evaluate a closed period (rule 13) under the terms it was closed with.

    The new figures are stored as a new revision beside the old ones; the ledger is never
    edited: it gets a reversal of the credit entered for the old revision and a credit of
    the restated amount. Claim-based credits not yet approved are superseded by a new claim.
    """
    now = now or timezone.now()
    if not reason.strip():
        raise RestateError("reason: a restatement needs a reason")
    row = (
        Period.objects.select_for_update()
        .select_related("agreement", "terms_version")
        .get(pk=period_id)
    )
    if not row.is_closed:
        raise RestateError(f"period {row.period} is still open: it is recomputed automatically")
    result = evaluate(
        agreement=row.agreement,
        period=row.period,
        version=row.terms_version,
        now=max(now, row.end),
        closed=True,
    )
    if result is None:
        raise RestateError(f"period {row.period} has no time inside the agreement's dates")
    old_revision, old_amount = row.revision, row.credit_amount or Decimal(0)
    row.revision = old_revision + 1
    _store(row, result, now, row.revision)
    row.credit_subtotal = result.subtotal.quantize(Decimal("0.0001"))
    row.credit_cap = result.cap
    row.credit_amount = result.credit
    row.computed_at = now
    row.late_data = False
    row.save()
    from credits.models import Restatement

    Restatement.objects.create(
        period=row,
        from_revision=old_revision,
        to_revision=row.revision,
        previous_amount=old_amount,
        new_amount=result.credit,
        reason=reason.strip(),
        created_by=actor,
        created_at=now,
    )
    from credits import ledger

    ledger.on_period_restated(
        period=row, old_revision=old_revision, actor=actor, reason=reason.strip(), now=now
    )
    return row
