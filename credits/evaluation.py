"""Figures of periods (SPEC §3 rules 2-12): what each objective achieved, its error budget,
status and credit percent, for many periods of many agreements in a constant number of
queries.

Nothing here writes: credits.storage stores the figures; credits.recompute and
credits.closing decide which periods to evaluate, and when.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from agreements import engine
from agreements.engine import Kind, Status
from agreements.models import Agreement, Service, TermsVersion
from credits import bounded, checkpoints, combined, coverage, measure
from credits.exclusions import exclusions_by_service
from credits.terms import ObjectiveTerms, Terms, terms_of
from metrics.models import Incident, Maintenance, Ticket, pauses_from_json

HOUR = dt.timedelta(hours=1)

# Indicators whose counts come from summaries, and can therefore be checkpointed.
COUNTED = frozenset(k for k in Kind if k.from_summaries)
TIME_BASED = frozenset((Kind.AVAILABILITY_PROBES, Kind.AVAILABILITY_INCIDENTS))
# Indicators measured over the customer's tickets (rule 8).
TICKET_KINDS = frozenset({Kind.RESPONSE_TIME, Kind.RESOLUTION_TIME})
# Indicators measured over the service's outage incidents (rules 5, 15).
OUTAGE_KINDS = frozenset({Kind.AVAILABILITY_INCIDENTS, *bounded.OUTAGE_KINDS})


@dataclass(frozen=True)
class ObjectiveResult:
    terms: ObjectiveTerms
    figures: engine.Figures
    budget: engine.Budget
    burn_rate_1h: Decimal | None
    status: Status
    credit_percent: Decimal
    bonus_percent: Decimal = Decimal(0)  # rule 12's bonus tiers
    attribution: tuple[combined.Share, ...] = ()  # rule 18, objectives over several services
    # The further forms (rules 15-17): achieved's unit, bound, commitment; else None.
    measured: bounded.Measured | None = None


@dataclass(frozen=True)
class PeriodResult:
    period: str
    bounds: engine.Interval
    version: TermsVersion
    terms: Terms
    objectives: tuple[ObjectiveResult, ...]
    closed: bool
    subtotal: Decimal  # Σ objective credits, exact (rule 12)
    cap: Decimal  # the most the period can credit, exact
    credit: Decimal  # min(subtotal, cap), half-up to 0.01
    bonus: Decimal = Decimal(0)  # earned by the provider (rule 12), half-up to 0.01
    # Checkpoints read in full this time, to store. Only for open periods evaluated with
    # checkpoints.
    new_checkpoints: checkpoints.Saved = field(default_factory=dict)


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
    # Measure only from this instant on (within the period): the recent rate a forecast
    # projects from. None: from the period's start, as every figure of record is.
    since: dt.datetime | None = None


class Part(enum.Enum):
    """The stretch of an objective's covered time that a count is over."""

    RECENT = "recent"  # the window, less the settled past when a checkpoint covers it
    SETTLED = "settled"  # the settled past, read in full to store its checkpoint
    LAST_HOUR = "last hour"  # the last hour of the window, for the burn rate


class CountKey(NamedTuple):
    """What one count read for a batch belongs to: the job's number, objective and part."""

    job: int
    objective: str
    part: Part


Pair = tuple[int, int]  # (up, down) minutes, (fast, total) probes or (good, total) events
Outage = tuple[dt.datetime, dt.datetime | None]


class TicketRow(NamedTuple):
    priority: str
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    paused: tuple[engine.Pause, ...]


@dataclass
class _Prepared:
    job: Job
    terms: Terms
    bounds: engine.Interval
    window: engine.Interval
    covered: dict[str, list[engine.Interval]] = field(default_factory=dict)
    last_hour: dict[str, list[engine.Interval]] = field(default_factory=dict)
    # The whole period's covered time per objective, for the budget of rule 11.
    whole: dict[str, Sequence[engine.Interval]] = field(default_factory=dict)
    # Objective key -> counts over the settled past taken from a checkpoint, and the
    # checkpoints being read in full this time (key -> through, fingerprint).
    reused: dict[str, Pair] = field(default_factory=dict)
    rebuilt: dict[str, tuple[dt.datetime, str]] = field(default_factory=dict)

    @property
    def start(self) -> dt.datetime:
        return self.bounds[0]

    @property
    def end(self) -> dt.datetime:
        return self.bounds[1]

    @property
    def until(self) -> dt.datetime:
        """The end of what is measured: the period's end, or now while it is open."""
        return self.window[1]


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
    prepared = [_prepare(job) for job in jobs]
    todo = [p for p in prepared if p is not None]
    answers = iter(_Batch(todo).results() if todo else [])
    return [None if p is None else next(answers) for p in prepared]


def _prepare(job: Job) -> _Prepared | None:
    terms = terms_of(job.version.terms)
    bounds = engine.period_bounds(
        job.period, terms.timezone, terms.effective_from, terms.effective_to
    )
    if bounds is None:
        return None
    start, end = bounds
    # An open period is measured up to now: the future is neither good nor bad time.
    until = max(start, min(end, job.now))
    first = start if job.since is None else min(max(start, job.since), until)
    return _Prepared(job, terms, bounds, (first, until))


class _Batch:
    """One call of evaluate_many: its jobs, what they share, and the counts read for them.

    ``results`` runs the steps in order: plan every objective's covered time and the
    counts it needs, read each kind of measurement once for all the jobs, then work out
    each period's figures from the answers.
    """

    def __init__(self, todo: list[_Prepared]) -> None:
        self.todo = todo
        self.first = min(p.start for p in todo)
        self.last = max(p.end for p in todo)
        # Rule 15: an outage resolved after its period's end counts its covered time up to
        # its resolution (or now), so maintenance and exclusions are read that far.
        self.reach = self.last
        if any(o.kind == Kind.MTTR for p in todo for o in p.terms.objectives):
            self.reach = max(self.last, max(p.job.now for p in todo))
        self.services: dict[str, int] = {}
        self.maintenance: dict[int, list[engine.Maintenance]] = {}
        self.exclusions: dict[int, list[engine.Interval]] = {}
        self.probe_requests: list[measure.Request[CountKey]] = []
        self.latency_requests: list[measure.LatencyRequest[CountKey]] = []
        self.event_requests: list[measure.Request[CountKey]] = []
        self.counts: dict[CountKey, Pair] = {}
        self.outages: dict[int, list[Outage]] = {}
        self.tickets: dict[int, list[TicketRow]] = {}
        self.combined = combined.Reads()
        self.shares: dict[tuple[int, str], tuple[combined.Share, ...]] = {}
        self.bounded = bounded.Reads()

    def results(self) -> list[PeriodResult]:
        self._load_services()
        self._load_maintenance()
        self.exclusions = exclusions_by_service(self.services.values(), self.first, self.reach)
        for n, p in enumerate(self.todo):
            for o in p.terms.objectives:
                self._plan(n, p, o)
        self._count()
        self.bounded.read()
        self._load_outages()
        self._load_tickets()
        return [self._period_result(n, p) for n, p in enumerate(self.todo)]

    # -- Reading --------------------------------------------------------------------------

    def _load_services(self) -> None:
        keys = {o.service for p in self.todo for o in p.terms.objectives if o.service}
        keys |= {key for p in self.todo for o in p.terms.objectives for key in o.services}
        self.services = dict(Service.objects.filter(key__in=keys).values_list("key", "id"))

    def _load_maintenance(self) -> None:
        if not self.services:
            return
        for m in Maintenance.objects.filter(
            service_id__in=self.services.values(), start__lt=self.reach, end__gt=self.first
        ).only("service_id", "start", "end", "announced_at"):
            self.maintenance.setdefault(m.service_id, []).append(
                engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
            )

    def _count(self) -> None:
        """One batched read per kind of measurement, whatever the number of jobs."""
        if self.latency_requests:
            _ensure_thresholds({(r.service_id, r.threshold_ms) for r in self.latency_requests})
        if self.probe_requests:
            self.counts |= measure.probe_minute_states(self.probe_requests)
        if self.latency_requests:
            self.counts |= measure.latency_counts(self.latency_requests)
        if self.event_requests:
            self.counts |= measure.event_sums(self.event_requests)
        self.combined.read()

    def _load_outages(self) -> None:
        incident_services = {
            self.services[o.service]
            for p in self.todo
            for o in p.terms.objectives
            if o.kind in OUTAGE_KINDS and o.service in self.services
        }
        incident_services |= combined.incident_services(
            [o for p in self.todo for o in p.terms.objectives], self.services
        )
        if not incident_services:
            return
        # Outages outside a job's window contribute nothing: the engine clips them to its
        # covered time.
        for outage in (
            Incident.objects.filter(
                service_id__in=incident_services,
                impact=Incident.Impact.OUTAGE,
                started_at__lt=max(p.until for p in self.todo),
            )
            .exclude(resolved_at__lte=self.first)
            .values_list("service_id", "started_at", "resolved_at", named=True)
        ):
            self.outages.setdefault(outage.service_id, []).append(
                (outage.started_at, outage.resolved_at)
            )

    def _load_tickets(self) -> None:
        ticket_jobs = [
            p for p in self.todo if any(o.kind in TICKET_KINDS for o in p.terms.objectives)
        ]
        if not ticket_jobs:
            return
        for t in Ticket.objects.filter(
            customer_id__in={p.job.agreement.customer_id for p in ticket_jobs},
            opened_at__gte=min(p.start for p in ticket_jobs),
            opened_at__lt=max(p.end for p in ticket_jobs),
        ).values_list(
            "customer_id",
            "priority",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "paused",
            named=True,
        ):
            self.tickets.setdefault(t.customer_id, []).append(
                TicketRow(
                    t.priority,
                    t.opened_at,
                    t.first_response_at,
                    t.resolved_at,
                    pauses_from_json(t.paused),
                )
            )

    # -- Planning -------------------------------------------------------------------------

    def _plan(self, n: int, p: _Prepared, o: ObjectiveTerms) -> None:
        """The covered time of objective ``o`` of job ``n``, and the counts to read for it."""
        if o.services:
            return self._plan_combined(p, o)
        if o.service is None:
            return
        sid = self.services.get(o.service)
        start, end = p.window
        whole, whole_key = coverage.period_coverage(
            p.terms.timezone,
            o.calendar,
            p.bounds,
            self._windows(sid, p.bounds),
            p.terms.maintenance_notice_hours,
            self._excluded(sid, p.bounds),
        )
        covered = engine.clip_sorted(whole, p.window)
        hour = engine.clip_sorted(covered, (max(start, end - HOUR), end))
        p.covered[o.key], p.last_hour[o.key], p.whole[o.key] = covered, hour, whole
        if o.kind in bounded.KINDS:
            self.bounded.plan(
                (n, o.key), o, sid, covered, agreement_id=p.job.agreement.pk, period=p.job.period
            )
        if sid is None or o.kind not in COUNTED:
            return
        parts = {Part.RECENT: covered}
        if p.job.saved is not None:
            parts |= self._checkpointed(p, o, sid, p.job.saved, (whole, whole_key), covered)
        parts[Part.LAST_HOUR] = hour
        for part, ranges in parts.items():
            self._request(CountKey(n, o.key, part), o, sid, ranges)

    def _plan_combined(self, p: _Prepared, o: ObjectiveTerms) -> None:
        windows = [w for key in o.services for w in self._windows(self.services.get(key), p.bounds)]
        p.covered[o.key], p.last_hour[o.key], p.whole[o.key] = self.combined.plan(
            services=self.services,
            windows=windows,
            tz=p.terms.timezone,
            bounds=p.bounds,
            window=p.window,
            notice_hours=p.terms.maintenance_notice_hours,
            o=o,
        )

    def _windows(self, sid: int | None, bounds: engine.Interval) -> tuple[engine.Maintenance, ...]:
        """The service's maintenance windows overlapping the period, in a fixed order (they
        are part of the key of the coverage cache)."""
        start, end = bounds
        found = self.maintenance.get(sid, []) if sid is not None else []
        return tuple(
            sorted(
                (w for w in found if w.start < end and w.end > start),
                key=lambda w: (w.start, w.end, w.announced_at),
            )
        )

    def _excluded(self, sid: int | None, bounds: engine.Interval) -> tuple[engine.Interval, ...]:
        """The service's exclusions overlapping the period, sorted (part of the cache key)."""
        found = self.exclusions.get(sid, []) if sid is not None else []
        return tuple(sorted(w for w in found if w[0] < bounds[1] and w[1] > bounds[0]))

    def _checkpointed(
        self,
        p: _Prepared,
        o: ObjectiveTerms,
        sid: int,
        saved: checkpoints.Saved,
        whole: tuple[Sequence[engine.Interval], Any],
        covered: list[engine.Interval],
    ) -> dict[Part, list[engine.Interval]]:
        """With a checkpoint, the settled past is counted once and only what follows it is
        read again; the past is read in full only when its checkpoint is missing or stale."""
        start, end = p.window
        # A period still open after its end (in its grace time) settles up to the UTC
        # midnight before its end.
        through = min(checkpoints.settled_until(p.job.now), checkpoints.utc_midnight(end))
        if through <= start:
            return {}
        settled, print_ = coverage.settled_part(
            *whole, (start, through), o.kind, sid, o.threshold_ms
        )
        parts = {Part.RECENT: engine.clip_sorted(covered, (through, end))}
        found = saved.get(o.key)
        if found is not None and (found.through, found.fingerprint) == (through, print_):
            p.reused[o.key] = (found.first, found.second)
        else:
            p.rebuilt[o.key] = (through, print_)
            parts[Part.SETTLED] = settled
        return parts

    def _request(
        self, key: CountKey, o: ObjectiveTerms, sid: int, ranges: Sequence[engine.Interval]
    ) -> None:
        if o.kind == Kind.AVAILABILITY_PROBES:
            minutes = engine.eligible_minute_ranges(ranges)
            self.probe_requests.append(measure.Request(key, sid, minutes))
        elif o.kind == Kind.LATENCY:
            threshold = o.threshold_ms or 0
            self.latency_requests.append(measure.LatencyRequest(key, sid, ranges, threshold))
        else:
            self.event_requests.append(measure.Request(key, sid, ranges))

    # -- Figures --------------------------------------------------------------------------

    def _period_result(self, n: int, p: _Prepared) -> PeriodResult:
        objectives = tuple(self._objective_result(n, p, o) for o in p.terms.objectives)
        fee, cap_percent = p.terms.monthly_fee, p.terms.credit_cap_percent
        percents = [r.credit_percent for r in objectives]
        bonus = engine.period_bonus(monthly_fee=fee, percents=[r.bonus_percent for r in objectives])
        return PeriodResult(
            p.job.period,
            p.bounds,
            p.job.version,
            p.terms,
            objectives,
            p.job.closed,
            subtotal=sum(
                (engine.objective_credit(monthly_fee=fee, percent=x) for x in percents),
                Decimal(0),
            ),
            cap=engine.period_credit_cap(monthly_fee=fee, cap_percent=cap_percent),
            credit=engine.period_credit(
                monthly_fee=fee, percents=percents, cap_percent=cap_percent
            ),
            bonus=bonus,
            new_checkpoints={
                key: checkpoints.Counted(through, print_, *self._part(n, key, Part.SETTLED))
                for key, (through, print_) in p.rebuilt.items()
            },
        )

    def _objective_result(self, n: int, p: _Prepared, o: ObjectiveTerms) -> ObjectiveResult:
        if o.kind in bounded.KINDS:
            return self._bounded_result(n, p, o)
        figures, hour = self._figures(n, p, o)
        closed = p.job.closed
        budget = engine.error_budget(
            target=o.target, good=figures.good, bad=figures.bad, reachable=_reachable(p, o, figures)
        )
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
            time_based=o.kind in TIME_BASED,
        )
        percent = engine.credit_percent(figures.achieved, o.tiers)
        bonus = engine.bonus_percent(figures.achieved, o.bonus)
        shares = self.shares.get((n, o.key), ())
        return ObjectiveResult(o, figures, budget, burn, status, percent, bonus, shares)

    def _bounded_result(self, n: int, p: _Prepared, o: ObjectiveTerms) -> ObjectiveResult:
        sid = self.services.get(o.service or "")
        outages = self.outages.get(sid, []) if sid else []
        covered = p.covered.get(o.key, [])
        if o.kind == Kind.MTTR:
            covered = [*covered, *self._covered_after(p, o, sid, outages)]
        j = self.bounded.judge(
            (n, o.key),
            o,
            sid=sid,
            covered=covered,
            bounds=p.bounds,
            outages=outages,
            now=p.job.now,
            closed=p.job.closed,
            agreement_id=p.job.agreement.pk,
            period=p.job.period,
        )
        return ObjectiveResult(
            o, j.figures, j.budget, None, j.status, j.credit_percent, measured=j.measured
        )

    def _covered_after(
        self, p: _Prepared, o: ObjectiveTerms, sid: int | None, outages: Sequence[Outage]
    ) -> list[engine.Interval]:
        """Rule 15: the objective's covered time after its period's end up to the latest
        resolution (or now) of the outages that started in the period, with the service's
        maintenance and exclusions removed as from any covered time (rules 2 and 3)."""
        horizon = engine.restore_horizon(started_in=p.bounds, outages=outages, now=p.job.now)
        if horizon is None:
            return []
        after = (p.bounds[1], horizon)
        return engine.covered_time(
            period=after,
            tz=p.terms.timezone,
            calendar=o.calendar,
            maintenance=self._windows(sid, after),
            notice_hours=p.terms.maintenance_notice_hours,
            exclusions=self._excluded(sid, after),
        )

    def _figures(
        self, n: int, p: _Prepared, o: ObjectiveTerms
    ) -> tuple[engine.Figures, engine.Figures | None]:
        """The objective's figures over its window, and over the window's last hour."""
        if o.services:
            figures, hour, self.shares[n, o.key] = self.combined.figures(
                o=o,
                services=self.services,
                outages=self.outages,
                covered=p.covered.get(o.key, []),
                hour=p.last_hour.get(o.key, []),
                now=p.job.now,
            )
            return figures, hour
        if o.kind == Kind.AVAILABILITY_PROBES:
            ranges = engine.eligible_minute_ranges(p.covered.get(o.key, []))
            eligible = sum(int((b - a).total_seconds()) // 60 for a, b in ranges)
            up, down = self._whole(n, p, o.key)
            h_up, h_down = self._part(n, o.key, Part.LAST_HOUR)
            return (
                engine.availability_from_minute_states(up=up, down=down, eligible=eligible),
                engine.availability_from_minute_states(
                    up=h_up, down=h_down, eligible=h_up + h_down
                ),
            )
        if o.kind == Kind.AVAILABILITY_INCIDENTS:
            sid = self.services.get(o.service or "")
            spans = self.outages.get(sid, []) if sid else []
            now = p.job.now
            return (
                engine.availability_from_incidents(
                    covered=p.covered.get(o.key, []), outages=spans, now=now
                ),
                engine.availability_from_incidents(
                    covered=p.last_hour.get(o.key, []), outages=spans, now=now
                ),
            )
        if o.kind in (Kind.LATENCY, Kind.RATIO):
            return (
                _counted(*self._whole(n, p, o.key)),
                _counted(*self._part(n, o.key, Part.LAST_HOUR)),
            )
        return self._ticket_figures(p, o), None

    def _ticket_figures(self, p: _Prepared, o: ObjectiveTerms) -> engine.Figures:
        # A ticket belongs to the period that holds its opened_at (rule 8); a job measuring
        # only a recent window (a forecast) takes the tickets opened in it.
        start, end = max(p.bounds[0], p.window[0]), p.bounds[1]
        chosen = [
            engine.Ticket(
                opened_at=t.opened_at,
                end_at=t.first_response_at if o.kind == Kind.RESPONSE_TIME else t.resolved_at,
                paused=t.paused,
            )
            for t in self.tickets.get(p.job.agreement.customer_id, [])
            if start <= t.opened_at < end and (not o.priority or t.priority == o.priority)
        ]
        return engine.ticket_times(
            tickets=chosen,
            tz=p.terms.timezone,
            calendar=o.calendar,
            threshold=o.threshold or dt.timedelta(0),
            now=p.job.now,
        )

    def _part(self, n: int, key: str, part: Part) -> Pair:
        return self.counts.get(CountKey(n, key, part), (0, 0))

    def _whole(self, n: int, p: _Prepared, key: str) -> Pair:
        """An objective's counts over its whole window: what follows the checkpoint, plus
        the checkpoint's counts (reused, or read in full this time)."""
        first, second = self._part(n, key, Part.RECENT)
        past_first, past_second = p.reused.get(key) or self._part(n, key, Part.SETTLED)
        return first + past_first, second + past_second


def _reachable(p: _Prepared, o: ObjectiveTerms, figures: engine.Figures) -> Decimal | None:
    """Rule 11: the largest denominator a time-based objective's open period can still
    reach (None when the figures so far are the denominator: count-based indicators, and
    every period that has ended, closed or in its grace time)."""
    if o.kind not in TIME_BASED or p.job.closed or p.job.now >= p.end:
        return None
    whole = p.whole.get(o.key, ())
    if o.kind == Kind.AVAILABILITY_PROBES:
        to_come = engine.minutes_to_come(whole, p.job.now)
        return figures.good + figures.bad + to_come
    return Decimal(engine.duration(whole).total_seconds())


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
    return engine.Figures(
        good=good,
        bad=bad,
        achieved=engine.achieved(good, bad),
        completeness=None,
        eligible=Decimal(total),
    )
