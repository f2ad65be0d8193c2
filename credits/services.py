"""Recomputing and closing periods (SPEC §3 rules 1-13) for one agreement at a time."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from agreements import engine
from agreements.engine import Kind
from agreements.models import Agreement, Customer, Service, TermsVersion
from credits import checkpoints, measure, signals
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
    # Checkpoints read in full this time, to store: (objective key, through, fingerprint,
    # first, second). Only for open periods evaluated with checkpoints.
    new_checkpoints: tuple[tuple[str, dt.datetime, str, int, int], ...] = ()


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


@dataclass(frozen=True)
class Job:
    """One period of one agreement, to evaluate under the terms of ``version``.

    ``saved`` holds the period's checkpoints (see credits.checkpoints); None means read
    everything in full, as closing and restating always do.
    """

    agreement: Agreement
    period: str
    version: TermsVersion
    now: dt.datetime
    closed: bool
    saved: checkpoints.Saved | None = None


@dataclass
class _Prepared:
    job: Job
    terms: Terms
    bounds: engine.Interval
    window: engine.Interval
    covered: dict[str, list[engine.Interval]] = field(default_factory=dict)
    last_hour: dict[str, list[engine.Interval]] = field(default_factory=dict)
    # Objective key -> counts over the settled past taken from a checkpoint, and the
    # checkpoints being read in full this time (key -> through, fingerprint).
    reused: dict[str, tuple[int, int]] = field(default_factory=dict)
    rebuilt: dict[str, tuple[dt.datetime, str]] = field(default_factory=dict)


Counts = dict[str, tuple[int, int]]
TicketRow = tuple[str, dt.datetime, dt.datetime | None, dt.datetime | None]


def evaluate(
    *, agreement: Agreement, period: str, version: TermsVersion, now: dt.datetime, closed: bool
) -> PeriodResult | None:
    """Figures of every objective of one period under the terms of ``version``."""
    return evaluate_many([Job(agreement, period, version, now, closed)])[0]


def evaluate_many(jobs: Sequence[Job]) -> list[PeriodResult | None]:
    """Figures of many periods, of any agreements, in a constant number of queries.

    Each kind of measurement is read once for all the jobs together (the readers take
    many requests per query), so a hundred agreements cost about as many queries as one.
    A job whose period lies outside its agreement's dates gives None.
    """
    prepared: list[_Prepared | None] = []
    for job in jobs:
        terms = terms_of(job.version.terms)
        bounds = engine.period_bounds(
            job.period, terms.timezone, terms.effective_from, terms.effective_to
        )
        if bounds is None:
            prepared.append(None)
            continue
        # An open period is measured up to now: the future is neither good nor bad time.
        window = (bounds[0], max(bounds[0], min(bounds[1], job.now)))
        prepared.append(_Prepared(job, terms, bounds, window))
    todo = [p for p in prepared if p is not None]
    if not todo:
        return [None] * len(jobs)
    first = min(p.bounds[0] for p in todo)
    last = max(p.bounds[1] for p in todo)

    services = dict(
        Service.objects.filter(
            key__in={o.service for p in todo for o in p.terms.objectives if o.service}
        ).values_list("key", "id")
    )
    windows_by_service: dict[int, list[engine.Maintenance]] = {}
    if services:
        for m in Maintenance.objects.filter(
            service_id__in=services.values(), start__lt=last, end__gt=first
        ).only("service_id", "start", "end", "announced_at"):
            windows_by_service.setdefault(m.service_id, []).append(
                engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
            )

    # One batched read per kind of measurement, whatever the number of jobs and objectives.
    probe_requests: list[measure.Request] = []
    latency_requests: list[tuple[str, int, Sequence[engine.Interval], int]] = []
    event_requests: list[measure.Request] = []
    for n, p in enumerate(todo):
        start, end = p.bounds
        hour_window = (max(start, p.window[1] - HOUR), p.window[1])
        for o in p.terms.objectives:
            if o.service is None:
                continue
            sid = services.get(o.service)
            windows = tuple(
                sorted(
                    (
                        w
                        for w in (windows_by_service.get(sid, []) if sid is not None else [])
                        if w.start < end and w.end > start
                    ),
                    key=lambda w: (w.start, w.end, w.announced_at),
                )
            )
            whole, whole_key = _period_coverage(
                p.terms.timezone, o.calendar, p.bounds, windows, p.terms.maintenance_notice_hours
            )
            covered = engine.clip_sorted(whole, p.window)
            hour = engine.clip_sorted(covered, hour_window)
            p.covered[o.key], p.last_hour[o.key] = covered, hour
            if sid is None or o.kind not in COUNTED:
                continue
            tag = f"{n}:{o.key}"  # the job's number first: one answer serves every job
            # With a checkpoint, the settled past is counted once and only what follows
            # it is read again; parts are tagged so their answers add up per objective.
            parts = [(tag, covered)]
            if p.job.saved is not None:
                # A period still open after its end (in its grace time) settles up to
                # the UTC midnight before its end.
                through = min(
                    checkpoints.settled_until(p.job.now), checkpoints.utc_midnight(p.window[1])
                )
                if start < through:
                    settled, print_ = _settled_part(
                        whole, whole_key, (start, through), o.kind, sid, o.threshold_ms
                    )
                    parts = [(tag, engine.clip_sorted(covered, (through, p.window[1])))]
                    saved = p.job.saved.get(o.key)
                    if saved is not None and saved[:2] == (through, print_):
                        p.reused[o.key] = saved[2:]
                    else:
                        p.rebuilt[o.key] = (through, print_)
                        parts.append((f"{tag}#settled", settled))
            parts.append((f"{tag}@1h", hour))
            for part_tag, part in parts:
                if o.kind == Kind.AVAILABILITY_PROBES:
                    probe_requests.append((part_tag, sid, engine.eligible_minute_ranges(part)))
                elif o.kind == "latency":
                    latency_requests.append((part_tag, sid, part, o.threshold_ms or 0))
                else:
                    event_requests.append((part_tag, sid, part))
    if latency_requests:
        _ensure_thresholds({(sid, t) for _, sid, _, t in latency_requests})
    states = _by_job(measure.probe_minute_states(probe_requests) if probe_requests else {})
    latencies = _by_job(measure.latency_counts(latency_requests) if latency_requests else {})
    events = _by_job(measure.event_sums(event_requests) if event_requests else {})

    incident_services = {
        services[o.service]
        for p in todo
        for o in p.terms.objectives
        if o.kind == Kind.AVAILABILITY_INCIDENTS and o.service in services
    }
    outages: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    if incident_services:
        # Outages outside a job's window contribute nothing: the engine clips them to
        # its covered time.
        for sid, began, resolved in (
            Incident.objects.filter(
                service_id__in=incident_services,
                impact=Incident.Impact.OUTAGE,
                started_at__lt=max(p.window[1] for p in todo),
            )
            .exclude(resolved_at__lte=first)
            .values_list("service_id", "started_at", "resolved_at")
        ):
            outages.setdefault(sid, []).append((began, resolved))

    ticket_jobs = [
        p
        for p in todo
        if any(o.kind in ("response_time", "resolution_time") for o in p.terms.objectives)
    ]
    tickets: dict[int, list[TicketRow]] = {}
    if ticket_jobs:
        for customer_id, priority, opened, responded, resolved in Ticket.objects.filter(
            customer_id__in={p.job.agreement.customer_id for p in ticket_jobs},
            opened_at__gte=min(p.bounds[0] for p in ticket_jobs),
            opened_at__lt=max(p.bounds[1] for p in ticket_jobs),
        ).values_list("customer_id", "priority", "opened_at", "first_response_at", "resolved_at"):
            tickets.setdefault(customer_id, []).append((priority, opened, responded, resolved))

    results: list[PeriodResult] = []
    for n, p in enumerate(todo):
        start, end = p.bounds
        results.append(
            _period_result(
                p,
                services=services,
                states=states.get(n, {}),
                latencies=latencies.get(n, {}),
                events=events.get(n, {}),
                outages=outages,
                # A ticket belongs to the period that holds its opened_at (rule 8).
                tickets=[
                    t for t in tickets.get(p.job.agreement.customer_id, []) if start <= t[1] < end
                ],
            )
        )
    answers = iter(results)
    return [None if p is None else next(answers) for p in prepared]


# Indicators whose counts come from summaries, and can therefore be checkpointed.
COUNTED = tuple(k for k in Kind if k.from_summaries)

# Covered time of whole periods, computed once per process for the same inputs (the
# calendar arithmetic is the costliest Python of a recompute); keyed by value, so it can
# never serve another agreement's or another database's figures.
_COVERAGE: dict[Any, tuple[engine.Interval, ...]] = {}
_SETTLED: dict[Any, tuple[list[engine.Interval], str]] = {}
_CACHE_LIMIT = 20_000


def _period_coverage(
    tz: str,
    calendar: engine.Calendar | None,
    bounds: engine.Interval,
    windows: tuple[engine.Maintenance, ...],
    notice_hours: int,
) -> tuple[tuple[engine.Interval, ...], Any]:
    key = (tz, repr(calendar), bounds, windows, notice_hours)
    found = _COVERAGE.get(key)
    if found is None:
        if len(_COVERAGE) > _CACHE_LIMIT:
            _COVERAGE.clear()
        found = _COVERAGE[key] = tuple(
            engine.covered_time(
                period=bounds,
                tz=tz,
                calendar=calendar,
                maintenance=windows,
                notice_hours=notice_hours,
            )
        )
    return found, key


def _settled_part(
    whole: Sequence[engine.Interval],
    whole_key: Any,
    past: engine.Interval,
    kind: str,
    service_id: int,
    threshold: int | None,
) -> tuple[list[engine.Interval], str]:
    """Covered time inside ``past`` (period start, checkpoint) and its fingerprint."""
    key = (whole_key, past, kind, service_id, threshold)
    found = _SETTLED.get(key)
    if found is None:
        if len(_SETTLED) > _CACHE_LIMIT:
            _SETTLED.clear()
        settled = engine.clip_sorted(whole, past)
        found = _SETTLED[key] = (
            settled,
            checkpoints.fingerprint(
                kind=kind, service_id=service_id, threshold=threshold, covered=settled
            ),
        )
    return found


def _by_job(answers: Counts) -> dict[int, Counts]:
    out: dict[int, Counts] = {}
    for tag, value in answers.items():
        n, key = tag.split(":", 1)
        out.setdefault(int(n), {})[key] = value
    return out


def _whole(p: _Prepared, counts: Counts, key: str) -> tuple[int, int]:
    """An objective's counts over its whole window: what follows the checkpoint, plus the
    checkpoint's counts (reused, or read in full this time)."""
    first, second = counts.get(key, (0, 0))
    past = p.reused.get(key) or counts.get(f"{key}#settled", (0, 0))
    return first + past[0], second + past[1]


def _period_result(
    p: _Prepared,
    *,
    services: dict[str, int],
    states: Counts,
    latencies: Counts,
    events: Counts,
    outages: dict[int, list[tuple[dt.datetime, dt.datetime | None]]],
    tickets: list[TicketRow],
) -> PeriodResult:
    terms, now, closed = p.terms, p.job.now, p.job.closed
    results = []
    new_checkpoints = []
    by_kind = {Kind.AVAILABILITY_PROBES: states, Kind.LATENCY: latencies, Kind.RATIO: events}
    for o in terms.objectives:
        if o.key in p.rebuilt:
            through, print_ = p.rebuilt[o.key]
            settled = by_kind[o.kind].get(f"{o.key}#settled", (0, 0))
            new_checkpoints.append((o.key, through, print_, *settled))
    for o in terms.objectives:
        sid = services.get(o.service or "")
        hour: engine.Figures | None = None
        if o.kind == Kind.AVAILABILITY_PROBES:
            ranges = engine.eligible_minute_ranges(p.covered.get(o.key, []))
            eligible = sum(int((b - a).total_seconds()) // 60 for a, b in ranges)
            up, down = _whole(p, states, o.key)
            figures = engine.availability_from_minute_states(up=up, down=down, eligible=eligible)
            h_up, h_down = states.get(f"{o.key}@1h", (0, 0))
            hour = engine.availability_from_minute_states(
                up=h_up, down=h_down, eligible=h_up + h_down
            )
        elif o.kind == Kind.AVAILABILITY_INCIDENTS:
            spans = outages.get(sid, []) if sid else []
            figures = engine.availability_from_incidents(
                covered=p.covered.get(o.key, []), outages=spans, now=now
            )
            hour = engine.availability_from_incidents(
                covered=p.last_hour.get(o.key, []), outages=spans, now=now
            )
        elif o.kind == "latency":
            figures = _counted(*_whole(p, latencies, o.key))
            hour = _counted(*latencies.get(f"{o.key}@1h", (0, 0)))
        elif o.kind == "ratio":
            figures = _counted(*_whole(p, events, o.key))
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
        p.job.period,
        p.bounds,
        p.job.version,
        terms,
        tuple(results),
        closed,
        subtotal,
        cap,
        credit,
        tuple(new_checkpoints),
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


_EVALUATION_COLUMNS = (
    "period_id",
    "revision",
    "position",
    "objective_key",
    "indicator",
    "unit",
    "target",
    "good",
    "bad",
    "achieved",
    "completeness",
    "eligible",
    "pending",
    "status",
    "budget_total",
    "budget_spent",
    "budget_remaining",
    "budget_remaining_percent",
    "burn_rate_1h",
    "credit_percent",
    "computed_at",
)
_U6 = Decimal("0.000001")


def _store_many(items: Sequence[tuple[Period, PeriodResult]], now: dt.datetime) -> None:
    """Replace the evaluations of each period's current revision: a DELETE, then INSERTs.

    One plain multi-row INSERT: building model instances cost more than the writing, for
    the hundreds of rows of a batched recompute. The values are the same as the fields
    would store (decimals quantized to their places, the time adapted by the backend).
    """
    if not items:
        return
    by_revision: dict[int, list[int]] = {}
    for row, _ in items:
        by_revision.setdefault(row.revision, []).append(row.pk)
    for revision, period_ids in by_revision.items():
        Evaluation.objects.filter(period_id__in=period_ids, revision=revision).delete()
    at = connection.ops.adapt_datetimefield_value(now)
    values = [
        (
            row.pk,
            row.revision,
            r.terms.position,
            r.terms.key,
            r.terms.indicator,
            r.terms.unit,
            r.terms.target.quantize(Decimal("0.0001")),
            r.figures.good.quantize(_U6),
            r.figures.bad.quantize(_U6),
            _q(r.figures.achieved),
            _q(r.figures.completeness),
            r.figures.eligible.quantize(_U6),
            r.figures.pending,
            r.status,
            r.budget.total.quantize(_U6),
            r.budget.spent.quantize(_U6),
            r.budget.remaining.quantize(_U6),
            _q(r.budget.remaining_percent, _U6),
            _burn(r.burn_rate_1h),
            r.credit_percent.quantize(Decimal("0.0001")),
            at,
        )
        for row, result in items
        for r in result.objectives
    ]
    table = connection.ops.quote_name(Evaluation._meta.db_table)
    one = "(" + ", ".join(["%s"] * len(_EVALUATION_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        for i in range(0, len(values), 1000):  # well inside any backend's parameter limit
            chunk = values[i : i + 1000]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(_EVALUATION_COLUMNS)}) "  # noqa: S608 (fixed names)
                f"VALUES {', '.join([one] * len(chunk))}",
                [value for row in chunk for value in row],
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
    """Evaluate every open period of one agreement (or just ``period``); closed ones stay frozen."""
    summaries = recompute_agreements(agreement_ids=[agreement_id], now=now, period=period)
    if not summaries:
        raise Agreement.DoesNotExist(f"no agreement with id {agreement_id}")
    return summaries[0]


def recompute_agreements(
    *, agreement_ids: Sequence[int], now: dt.datetime | None = None, period: str | None = None
) -> list[RecomputeSummary]:
    """Evaluate every open period of each agreement (or just ``period``), all in one go.

    The agreement rows are locked for the duration (in id order, so overlapping batches
    never deadlock), so two workers never evaluate the same agreement at once; closing a
    period locks its agreement too. The whole batch costs a constant number of queries
    and one commit. Running it again gives the same state. Agreements that no longer
    exist are left out of the answer.
    """
    now = now or timezone.now()
    with transaction.atomic():
        agreements = list(
            Agreement.objects.select_for_update().filter(pk__in=list(agreement_ids)).order_by("pk")
        )
        ids = [a.pk for a in agreements]
        versions: dict[int, list[TermsVersion]] = {}
        for v in TermsVersion.objects.filter(agreement_id__in=ids):
            versions.setdefault(v.agreement_id, []).append(v)
        existing = {
            (p.agreement_id, p.period): p for p in Period.objects.filter(agreement_id__in=ids)
        }
        saved = checkpoints.saved_for(p.pk for p in existing.values() if not p.is_closed)

        summaries: list[RecomputeSummary] = []
        jobs: list[Job] = []
        todo: list[tuple[RecomputeSummary, Period | None]] = []
        for agreement in agreements:
            summary = RecomputeSummary(agreement.key, [], [])
            summaries.append(summary)
            for pid in periods_due(agreement, now):
                if period is not None and pid != period:
                    continue
                row = existing.get((agreement.pk, pid))
                if row is not None and row.is_closed:
                    summary.skipped_closed.append(pid)
                    continue
                version = version_in_force(versions.get(agreement.pk, []), pid)
                if version is not None:
                    kept = saved.get(row.pk, {}) if row is not None else {}
                    jobs.append(Job(agreement, pid, version, now, closed=False, saved=kept))
                    todo.append((summary, row))

        done = [
            (job, summary, row, result)
            for job, (summary, row), result in zip(jobs, todo, evaluate_many(jobs), strict=True)
            if result is not None
        ]
        previous: dict[int, dict[str, str]] = {}
        known = {row.pk: row.revision for _, _, row, _ in done if row is not None}
        for period_id, revision, key, status in Evaluation.objects.filter(
            period_id__in=list(known)
        ).values_list("period_id", "revision", "objective_key", "status"):
            if known[period_id] == revision:
                previous.setdefault(period_id, {})[key] = status

        fields = ("start", "end", "closes_at", "terms_version_id")
        before = {row.pk: tuple(getattr(row, f) for f in fields) for _, _, row, _ in done if row}
        rows = [_period_row(job.agreement, row, result) for job, _, row, result in done]
        for row in rows:
            row.computed_at = now
        Period.objects.bulk_create([row for row in rows if row.pk is None])
        # Usually only the time of computation moves: one UPDATE for all, and a bulk
        # update only for the rare rows whose bounds or terms changed.
        Period.objects.filter(pk__in=list(known)).update(computed_at=now)
        changed = [
            row
            for row in rows
            if row.pk in before and before[row.pk] != tuple(getattr(row, f) for f in fields)
        ]
        if changed:
            Period.objects.bulk_update(changed, ["start", "end", "closes_at", "terms_version"])
        _store_many([(row, result) for row, (_, _, _, result) in zip(rows, done, strict=True)], now)
        checkpoints.save(
            [
                (row.pk, *c)
                for row, (*_, result) in zip(rows, done, strict=True)
                for c in result.new_checkpoints
            ],
            now,
        )
        for row, (job, summary, _, result) in zip(rows, done, strict=True):
            _announce_changes(job.agreement, row, previous.get(row.pk, {}), result, now)
            summary.evaluated.append(job.period)
    return summaries


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
    ensure_period_rows(now=now)
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


def batches(ids: list[int]) -> list[list[int]]:
    """Agreement ids cut into the batches that one recompute evaluates together."""
    size = settings.RECOMPUTE_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


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
    """
    now = now or timezone.now()
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
    _store_many([(row, result)], now)
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
    for service in Service.objects.filter(key__in=keys).order_by("pk"):  # the lock order
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
    _store_many([(row, result)], now)
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
