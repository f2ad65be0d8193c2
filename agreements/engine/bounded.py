"""Bounded values (rule 15) and volume commitments (rule 17): means and sums that an
objective holds under a ``max`` or over a ``min``, and the credit tiers of such bounds.

Values are exact ``Decimal``s in the indicator's unit: seconds for ``mttr`` and ``mtbf``,
milliseconds for ``mean_latency`` and ``jitter``, the metric's own unit for samples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from itertools import pairwise

from .basics import _DECIMAL, _HUNDRED, Interval, _seconds, _utc
from .intervals import contains, duration, intersect, union
from .words import Status


@dataclass(frozen=True)
class Bounded:
    """A bounded value: ``value`` (None without data) = ``total`` / ``count``.

    ``count`` is what the mean is over (outages, probes, pairs of probes, samples).
    """

    value: Decimal | None
    total: Decimal
    count: int


@dataclass(frozen=True)
class Commitment:
    """Rule 17: a period's volume commitment. ``required`` = ``minimum`` + ``carried``;
    ``achieved`` = 100 × delivered / required (None when nothing is required);
    ``shortfall`` = required − delivered when positive, else 0 (what the next period
    carries, with ``carry_over``)."""

    minimum: Decimal
    carried: Decimal
    required: Decimal
    delivered: Decimal
    achieved: Decimal | None
    shortfall: Decimal


def mean(total: Decimal, count: int) -> Bounded:
    """The mean ``total`` / ``count`` as a ``Bounded`` (value None when count is 0), for
    sums made elsewhere (e.g. by SQL over summaries) by the same rule as ``metric_mean``."""
    with localcontext(_DECIMAL):
        return Bounded(total / count if count else None, total, count)


def _outage_times(
    covered: Sequence[Interval],
    started_in: Interval,
    outages: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
) -> list[Decimal]:
    now = _utc(now)
    covered_norm = union(covered)
    first, stop = _utc(started_in[0]), _utc(started_in[1])
    times = []
    for start, end in outages:
        start = _utc(start)
        if not first <= start < stop:
            continue
        finish = now if end is None else _utc(end)
        span = [(start, finish)] if finish > start else []
        times.append(_seconds(duration(intersect(covered_norm, span))))
    return times


def mttr(
    *,
    covered: Sequence[Interval],
    started_in: Interval,
    outages: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
) -> Bounded:
    """Rule 15, mean time to restore, in seconds: the mean over the outages
    ``(started_at, resolved_at)`` that started inside ``started_in`` (the period) of the
    covered time from start to resolution; an unresolved one (None) counts until ``now``.
    An outage resolved after the period's end counts its whole covered time, so
    ``covered`` must reach ``restore_horizon`` (the objective's covered time inside the
    period, then after it); covered time beyond the period does not change ``mtbf``,
    which is given the period's alone. No outage: value None (its status is met, see
    ``bounded_status``)."""
    times = _outage_times(covered, started_in, outages, now)
    return mean(sum(times, Decimal(0)), len(times))


def restore_horizon(
    *,
    started_in: Interval,
    outages: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
) -> datetime | None:
    """Rule 15: how far past the end of ``started_in`` (the period) ``mttr`` needs covered
    time: the latest resolution (``now`` for an unresolved one) of the outages that
    started inside it, or None when none of them lasts past the period's end."""
    now = _utc(now)
    first, stop = _utc(started_in[0]), _utc(started_in[1])
    ends = [
        now if end is None else _utc(end) for start, end in outages if first <= _utc(start) < stop
    ]
    latest = max(ends, default=stop)
    return latest if latest > stop else None


def mtbf(
    *,
    covered: Sequence[Interval],
    started_in: Interval,
    outages: Iterable[tuple[datetime, datetime | None]],
) -> Bounded:
    """Rule 15, mean time between failures, in seconds: the covered time so far
    (``covered``, cut at now for an open period) divided by the number of outages that
    started inside ``started_in``. No outage: value None (met)."""
    first, stop = _utc(started_in[0]), _utc(started_in[1])
    count = sum(1 for start, _ in outages if first <= _utc(start) < stop)
    return mean(_seconds(duration(union(covered))), count)


def _measured(ok: bool, latency_ms: float | Decimal | None) -> bool:
    # A successful result without a latency (None or NaN) measured nothing (as in rule 6).
    return bool(ok) and latency_ms is not None and Decimal(latency_ms).is_finite()


def mean_latency(
    *,
    covered: Sequence[Interval],
    probes: Iterable[tuple[datetime, bool, float | Decimal | None]],
) -> Bounded:
    """Rule 15: the mean ``latency_ms`` of the successful probes ``(ts, ok, latency_ms)``
    in covered time, in ms. Results without a latency are left out."""
    covered_norm = union(covered)
    total, count = Decimal(0), 0
    for ts, ok, latency_ms in probes:
        if _measured(ok, latency_ms) and contains(covered_norm, ts):
            total += Decimal(latency_ms)  # type: ignore[arg-type]
            count += 1
    return mean(total, count)


def jitter(
    *,
    covered: Sequence[Interval],
    probes: Iterable[tuple[datetime, str, bool, float | Decimal | None]],
) -> Bounded:
    """Rule 15: the mean absolute difference, in ms, between the ``latency_ms`` of
    consecutive successful probes of the same location, over results
    ``(ts, probe, ok, latency_ms)`` in covered time (``count`` is the number of pairs)."""
    covered_norm = union(covered)
    by_probe: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for ts, probe, ok, latency_ms in probes:
        if _measured(ok, latency_ms) and contains(covered_norm, ts):
            by_probe[probe].append((_utc(ts), Decimal(latency_ms)))  # type: ignore[arg-type]
    total, count = Decimal(0), 0
    for series in by_probe.values():
        series.sort()
        for (_, a), (_, b) in pairwise(series):
            total += abs(b - a)
            count += 1
    return mean(total, count)


def metric_mean(
    *, covered: Sequence[Interval], samples: Iterable[tuple[datetime, Decimal]]
) -> Bounded:
    """Rule 15: the mean of the samples ``(ts, value)`` in covered time, in the metric's unit."""
    total, count = metric_sum(covered=covered, samples=samples)
    return mean(total, count)


def metric_sum(
    *, covered: Sequence[Interval], samples: Iterable[tuple[datetime, Decimal]]
) -> tuple[Decimal, int]:
    """Rule 17: (Σ value, count) of the samples ``(ts, value)`` in covered time."""
    covered_norm = union(covered)
    total, count = Decimal(0), 0
    for ts, value in samples:
        if contains(covered_norm, ts):
            total += Decimal(value)
            count += 1
    return total, count


def commitment(*, minimum: Decimal, carried: Decimal, delivered: Decimal) -> Commitment:
    """Rule 17: required = ``minimum`` + ``carried`` (the previous period's shortfall, 0
    without ``carry_over``); achieved = 100 × delivered / required; met at >= 100."""
    with localcontext(_DECIMAL):
        required = minimum + max(carried, Decimal(0))
        achieved = _HUNDRED * delivered / required if required > 0 else None
        shortfall = max(required - delivered, Decimal(0))
    return Commitment(minimum, required - minimum, required, delivered, achieved, shortfall)


def within_bound(value: Decimal, *, maximum: Decimal | None, minimum: Decimal | None) -> bool:
    """Rule 15: value <= ``maximum`` and value >= ``minimum`` (each when set)."""
    return (maximum is None or value <= maximum) and (minimum is None or value >= minimum)


def bounded_status(
    value: Decimal | None,
    *,
    maximum: Decimal | None,
    minimum: Decimal | None,
    closed: bool,
    none_is_met: bool = False,
) -> Status:
    """Rules 10 and 15 for a bounded value: a closed period is MET within its bound, else
    BREACHED; an open one, whose mean may still move, is AT_RISK outside it. No value:
    NO_DATA, or MET for ``mttr``/``mtbf`` (``none_is_met``: no outage at all)."""
    if value is None:
        return Status.MET if none_is_met else Status.NO_DATA
    if within_bound(value, maximum=maximum, minimum=minimum):
        return Status.MET
    return Status.BREACHED if closed else Status.AT_RISK


def credit_percent_above(
    value: Decimal | None, tiers: Sequence[tuple[Decimal, Decimal]]
) -> Decimal:
    """Rule 12 for a ``max``-bounded indicator: the percent of the tier ``(above, percent)``
    with the highest ``above`` still lower than ``value``; Decimal(0) when none applies or
    there is no value. (A ``min``-bounded one uses ``credit_percent`` with its ``below``s.)"""
    if value is None:
        return Decimal(0)
    applicable = [(above, percent) for above, percent in tiers if above < value]
    if not applicable:
        return Decimal(0)
    return max(applicable)[1]
