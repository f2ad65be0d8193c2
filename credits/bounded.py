"""Figures of the further objective forms (rules 15-17) for a batch of periods, read in a
constant number of queries whatever the number of jobs: one for the raw probe results of
``mean_latency`` and ``jitter``, two for samples (whole minutes from the per-minute
summary, the parts of minutes at the edges of covered time from the raw rows), one for the
shortfalls carried from closed periods. Outages for ``mttr`` and ``mtbf`` come with the
batch's incident read (credits.evaluation).

The arithmetic is the engine's (``agreements.engine.bounded``); this module only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F

from agreements import display, engine
from agreements.engine import Kind, Status
from credits.measure import _dt, _sum_over
from credits.terms import ObjectiveTerms
from metrics.models import ProbeResult

KINDS = frozenset(
    (Kind.MTTR, Kind.MTBF, Kind.MEAN_LATENCY, Kind.JITTER, Kind.METRIC_MEAN, Kind.METRIC_SUM)
)
OUTAGE_KINDS = frozenset((Kind.MTTR, Kind.MTBF))
PROBE_KINDS = frozenset((Kind.MEAN_LATENCY, Kind.JITTER))
SAMPLE_KINDS = frozenset((Kind.METRIC_MEAN, Kind.METRIC_SUM))
MICRO = Decimal("0.000001")
NO_BUDGET = engine.Budget(
    total=Decimal(0), spent=Decimal(0), remaining=Decimal(0), remaining_percent=None
)


@dataclass(frozen=True)
class Measured:
    """What a further form adds to an objective's figures: the unit of ``achieved``, its
    bound, and for a volume commitment (rule 17) what was required, delivered and carried
    (with the period it was carried from)."""

    unit: str
    bound: str  # "max" or "min"
    limit: Decimal | None
    required: Decimal | None = None
    delivered: Decimal | None = None
    carried: Decimal | None = None
    carried_from: str | None = None


@dataclass(frozen=True)
class Judged:
    figures: engine.Figures
    budget: engine.Budget
    status: Status
    credit_percent: Decimal
    measured: Measured


class Reads:
    """The reads of one batch for its further forms: planned per objective, then read."""

    def __init__(self) -> None:
        self.samples: list[tuple[Hashable, int, str, Sequence[engine.Interval]]] = []
        self.sums: dict[Hashable, tuple[Decimal, int]] = {}
        self.probe_windows: dict[int, engine.Interval] = {}
        self.probes: dict[int, list[tuple[dt.datetime, str, bool, float | None]]] = {}
        self.carry: set[tuple[int, str, str]] = set()  # (agreement, previous period, key)
        self.carried: dict[tuple[int, str, str], Decimal] = {}

    def plan(
        self,
        key: Hashable,
        o: ObjectiveTerms,
        sid: int | None,
        covered: Sequence[engine.Interval],
        *,
        agreement_id: int,
        period: str,
    ) -> None:
        if o.kind == Kind.METRIC_SUM and o.carry_over:
            self.carry.add((agreement_id, engine.shift_period(period, -1), o.key))
        if sid is None or not covered:
            return
        if o.kind in SAMPLE_KINDS and o.metric:
            self.samples.append((key, sid, o.metric, covered))
        elif o.kind in PROBE_KINDS:
            first, last = covered[0][0], covered[-1][1]
            if sid in self.probe_windows:
                a, b = self.probe_windows[sid]
                first, last = min(a, first), max(b, last)
            self.probe_windows[sid] = (first, last)

    def read(self) -> None:
        if self.samples:
            self._read_samples()
        if self.probe_windows:
            self._read_probes()
        if self.carry:
            self._read_carried()

    def _read_samples(self) -> None:
        minute_rows: list[tuple[Any, ...]] = []
        edge_rows: list[tuple[Any, ...]] = []
        for n, (_, sid, metric, covered) in enumerate(self.samples):
            minutes = engine.eligible_minute_ranges(covered)
            minute_rows += [(n, sid, metric, _dt(a), _dt(b)) for a, b in minutes]
            edges = engine.subtract(covered, minutes)
            edge_rows += [(n, sid, metric, _dt(a), _dt(b)) for a, b in edges]
        totals = [[0, 0] for _ in self.samples]
        match = "t.service_id = r.sid AND t.metric = r.m AND t.{col} >= r.a AND t.{col} < r.b"
        found: list[tuple[Any, ...]] = []
        if minute_rows:
            found += _sum_over(
                "n, sid, m, a, b",
                minute_rows,
                "metrics_sampleminute",
                match.format(col="minute"),
                ["SUM(t.total_micros)", "SUM(t.count)"],
            )
        if edge_rows:
            found += _sum_over(
                "n, sid, m, a, b",
                edge_rows,
                "metrics_sample",
                match.format(col="ts"),
                ["SUM(CAST(ROUND(t.value * 1000000) AS BIGINT))", "COUNT(*)"],
            )
        for n, micros, count in found:
            totals[n][0] += int(micros or 0)
            totals[n][1] += int(count or 0)
        self.sums = {
            key: (Decimal(micros).scaleb(-6), count)
            for (key, *_), (micros, count) in zip(self.samples, totals, strict=True)
        }

    def _read_probes(self) -> None:
        first = min(a for a, _ in self.probe_windows.values())
        last = max(b for _, b in self.probe_windows.values())
        for sid, probe, ts, ok, latency in (
            ProbeResult.objects.filter(
                service_id__in=self.probe_windows,
                ts__gte=first,
                ts__lt=last,
                ok=True,
                latency_ms__isnull=False,
            )
            .order_by()
            .values_list("service_id", "probe", "ts", "ok", "latency_ms")
        ):
            self.probes.setdefault(sid, []).append((ts, probe, ok, latency))

    def _read_carried(self) -> None:
        from credits.models import Evaluation, Period

        agreements = {a for a, _, _ in self.carry}
        periods = {p for _, p, _ in self.carry}
        keys = {k for _, _, k in self.carry}
        for agreement_id, period, key, required, delivered in Evaluation.objects.filter(
            period__agreement_id__in=agreements,
            period__period__in=periods,
            period__state=Period.State.CLOSED,
            objective_key__in=keys,
            revision=F("period__revision"),
            required__isnull=False,
        ).values_list(
            "period__agreement_id", "period__period", "objective_key", "required", "good"
        ):
            if required is not None and (agreement_id, period, key) in self.carry:
                self.carried[(agreement_id, period, key)] = max(required - delivered, Decimal(0))

    # -- Figures --------------------------------------------------------------------------

    def judge(
        self,
        key: Hashable,
        o: ObjectiveTerms,
        *,
        sid: int | None,
        covered: Sequence[engine.Interval],
        bounds: engine.Interval,
        outages: Sequence[tuple[dt.datetime, dt.datetime | None]],
        now: dt.datetime,
        closed: bool,
        agreement_id: int,
        period: str,
    ) -> Judged:
        """An objective's figures, status and credit percent by rules 12 and 15-17."""
        if o.kind == Kind.METRIC_SUM:
            return self._commitment(key, o, closed=closed, agreement_id=agreement_id, period=period)
        value = self._value(
            key, o, sid=sid, covered=covered, bounds=bounds, outages=outages, now=now
        )
        status = engine.bounded_status(
            value.value,
            maximum=o.maximum,
            minimum=o.minimum,
            closed=closed,
            none_is_met=o.kind in OUTAGE_KINDS,
        )
        if o.maximum is not None:
            percent = engine.credit_percent_above(value.value, o.above_tiers)
        else:
            percent = engine.credit_percent(value.value, o.tiers)
        figures = engine.Figures(
            good=Decimal(value.count),
            bad=Decimal(0),
            achieved=value.value,
            completeness=None,
            eligible=Decimal(value.count),
        )
        bound = "max" if o.maximum is not None else "min"
        limit = o.maximum if o.maximum is not None else o.minimum
        return Judged(figures, NO_BUDGET, status, percent, Measured(o.value_unit, bound, limit))

    def _value(
        self,
        key: Hashable,
        o: ObjectiveTerms,
        *,
        sid: int | None,
        covered: Sequence[engine.Interval],
        bounds: engine.Interval,
        outages: Sequence[tuple[dt.datetime, dt.datetime | None]],
        now: dt.datetime,
    ) -> engine.Bounded:
        if o.kind == Kind.MTTR:
            return engine.mttr(covered=covered, started_in=bounds, outages=outages, now=now)
        if o.kind == Kind.MTBF:
            return engine.mtbf(covered=covered, started_in=bounds, outages=outages)
        rows = self.probes.get(sid, []) if sid is not None else []
        if o.kind == Kind.MEAN_LATENCY:
            return engine.mean_latency(
                covered=covered, probes=[(ts, ok, ms) for ts, _, ok, ms in rows]
            )
        if o.kind == Kind.JITTER:
            return engine.jitter(
                covered=covered, probes=[(ts, p, ok, ms) for ts, p, ok, ms in rows]
            )
        total, count = self.sums.get(key, (Decimal(0), 0))
        return engine.mean(total, count)  # metric_mean over sums SQL made from summaries

    def _commitment(
        self, key: Hashable, o: ObjectiveTerms, *, closed: bool, agreement_id: int, period: str
    ) -> Judged:
        delivered, count = self.sums.get(key, (Decimal(0), 0))
        previous = engine.shift_period(period, -1)
        carried = (
            self.carried.get((agreement_id, previous, o.key), Decimal(0))
            if o.carry_over
            else Decimal(0)
        )
        c = engine.commitment(minimum=o.minimum or Decimal(0), carried=carried, delivered=delivered)
        status = engine.bounded_status(c.achieved, maximum=None, minimum=o.target, closed=closed)
        figures = engine.Figures(
            good=delivered,
            bad=c.shortfall,
            achieved=c.achieved,
            completeness=None,
            eligible=Decimal(count),
        )
        percent = engine.credit_percent(c.achieved, o.tiers)
        measured = Measured(
            "%",
            "min",
            o.minimum,
            required=c.required,
            delivered=delivered,
            carried=c.carried,
            carried_from=previous if c.carried else None,
        )
        return Judged(figures, NO_BUDGET, status, percent, measured)


def stored_fields(measured: Measured | None) -> dict[str, Any]:
    """The Evaluation columns of a further form (empty or null for the other indicators)."""
    if measured is None:
        return {
            "value_unit": "%",
            "bound": "",
            "bound_limit": None,
            "required": None,
            "carried": None,
            "carried_from": "",
        }
    return {
        "value_unit": measured.unit,
        "bound": measured.bound,
        "bound_limit": measured.limit,
        "required": measured.required,
        "carried": measured.carried,
        "carried_from": measured.carried_from or "",
    }


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def api_fields(e: Any) -> dict[str, Any]:
    """The compliance API's fields of a further form (rules 15-17) for evaluation ``e``:
    ``unit`` (the unit of ``achieved``: ``s``, ``ms`` or the metric's), ``achieved_text``
    with that unit, ``bound`` (``{"max": n}`` or ``{"min": n}``) and, for a volume
    commitment, ``commitment`` ``{"required", "delivered", "carried", "carried_from"}``.
    Nothing for the percent indicators, whose ``unit`` stays their budget's unit."""
    if not e.bound:
        return {}
    out: dict[str, Any] = {
        "unit": e.value_unit,
        "achieved_text": achieved_text(e),
        "bound": {e.bound: _number(e.bound_limit)},
    }
    if e.required is not None:
        out["commitment"] = {
            "required": _number(e.required),
            "delivered": _number(e.good),
            "carried": _number(e.carried),
            "carried_from": e.carried_from or None,
        }
    return out


def commitment_text(e: Any) -> str:
    """A volume commitment as people read it: ``"required 230 = 200 + 30 carried from
    October"`` (rule 17), or ``"required 200"`` when nothing is carried."""
    if e.required is None:
        return ""
    required = display.plain(e.required)
    if not e.carried:
        return f"required {required}"
    return (
        f"required {required} = {display.plain(e.bound_limit)} + {display.plain(e.carried)}"
        f" carried from {_month_name(e.carried_from)}"
    )


def _month_name(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return dt.date(year, month, 1).strftime("%B")


def bound_text(o: ObjectiveTerms) -> str:
    """An objective's bound as people read it: ``"at most 4 h"``, ``"at least 900
    throughput_mbps"``, ``"at least 200 qualified_leads"``; "" for a percent target."""
    if o.kind not in KINDS:
        return ""
    if o.maximum is not None:
        return f"at most {display.measured(o.maximum, o.value_unit)}"
    unit = o.metric or "" if o.kind == Kind.METRIC_SUM else o.value_unit
    return f"at least {display.measured(o.minimum, unit)}"


def achieved_text(e: Any) -> str:
    """An evaluation's achieved figure as people read it, with its unit: a percent for the
    percent indicators and commitments, else the bounded value (``display.measured``)."""
    if not e.bound or e.required is not None:
        return display.percent(e.achieved, e.target)
    return display.measured(e.achieved, e.value_unit, bound=e.bound)
