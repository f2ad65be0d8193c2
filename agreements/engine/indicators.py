"""The achieved figures of rules 4-7: availability from probes and from incidents, latency, ratio.

Each takes covered time (from ``periods.covered_time``) and plain measurements, and returns
``Figures``: good and bad units, achieved percent (None without data, rule 9), completeness.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .basics import MINUTE, Interval, _percent, _seconds, _utc
from .intervals import contains, duration, intersect, union
from .words import MinuteState


@dataclass(frozen=True)
class Figures:
    """The counts behind one objective's achieved figure for one window."""

    good: Decimal
    bad: Decimal
    achieved: Decimal | None
    completeness: Decimal | None
    pending: int = 0
    eligible: Decimal = Decimal(0)


# --------------------------------------------------------------------------------------------
# Availability from probes (rule 4)
# --------------------------------------------------------------------------------------------


def _floor_minute(instant: datetime) -> datetime:
    # UTC has no leap seconds here, so a UTC reading with zero seconds is a whole epoch minute.
    return instant.replace(second=0, microsecond=0)


def _ceil_minute(instant: datetime) -> datetime:
    floor = _floor_minute(instant)
    return floor if floor == instant else floor + MINUTE


def eligible_minute_ranges(covered: Sequence[Interval]) -> list[Interval]:
    """Maximal runs of whole UTC minutes lying entirely inside the covered time."""
    # Merge first: covered time cut by adjacent windows must not lose the minute they share.
    out: list[Interval] = []
    for start, end in union(covered):
        first, stop = _ceil_minute(start), _floor_minute(end)
        if first < stop:
            out.append((first, stop))
    return out


def minutes_to_come(covered: Sequence[Interval], now: datetime) -> int:
    """Rule 11: eligible minutes of ``covered`` (a whole period's covered time) that start
    at or after the minute holding ``now``; the minute under way counts as still to come,
    since an open period's figures so far only hold whole minutes before ``now``."""
    first = _floor_minute(_utc(now))
    total = 0
    for start, end in eligible_minute_ranges(covered):
        if end > first:
            total += (end - max(start, first)) // MINUTE
    return total


def classify_minute(ok: int, failed: int) -> MinuteState | None:
    """Rule 4, the one definition of a down minute: DOWN when more than half of the
    minute's probe results failed, else UP; None when the minute has no result at all.

    ``minute_state_sql`` is the same rule as SQL; tests hold the two together.
    """
    total = ok + failed
    if total <= 0:
        return None
    return MinuteState.DOWN if 2 * failed > total else MinuteState.UP


def minute_state_sql(ok: str, failed: str) -> tuple[str, str]:
    """Rule 4 as two SQL boolean expressions ``(up, down)`` over the SQL expressions ``ok``
    and ``failed`` (integer counts of a minute's results, e.g. column names).

    Every SQL summary and read builds its text from here, so the rule has one home; the
    expressions are valid in PostgreSQL and SQLite. Same verdicts as ``classify_minute``.
    """
    down = f"(2 * {failed} > {ok} + {failed})"
    up = f"({ok} + {failed} > 0 AND 2 * {failed} <= {ok} + {failed})"
    return up, down


def availability_from_probes(
    *, covered: Sequence[Interval], minute_counts: Mapping[datetime, tuple[int, int]]
) -> Figures:
    """Rule 4: up/down eligible minutes from per-minute (ok, failed) counts.

    ``minute_counts`` keys are UTC minute starts; counts are already summed over locations.
    Cost is O(k log k) in the number of keys plus O(r log k) in the eligible runs.
    """
    ranges = eligible_minute_ranges(covered)
    eligible = sum((end - start) // MINUTE for start, end in ranges)
    counts: dict[datetime, tuple[int, int]] = {}
    for key, value in minute_counts.items():
        minute = _utc(key)
        if minute.second or minute.microsecond:
            raise ValueError(f"minute_counts key {key!r} is not the start of a UTC minute")
        counts[minute] = value
    keys = sorted(counts)
    up = down = with_data = 0
    for start, end in ranges:
        for key in keys[bisect_left(keys, start) : bisect_left(keys, end)]:
            verdict = classify_minute(*counts[key])
            if verdict is None:
                continue
            with_data += 1
            if verdict is MinuteState.UP:
                up += 1
            else:
                down += 1
    return availability_from_minute_states(up=up, down=down, eligible=eligible)


def availability_from_minute_states(*, up: int, down: int, eligible: int) -> Figures:
    """Rule 4 from counts already made elsewhere (e.g. summaries): up and down eligible
    minutes, and how many minutes were eligible; minutes with data are up + down."""
    return Figures(
        good=Decimal(up),
        bad=Decimal(down),
        achieved=_percent(up, up + down) if up + down else None,
        completeness=_percent(up + down, eligible) if eligible else None,
        eligible=Decimal(eligible),
    )


# --------------------------------------------------------------------------------------------
# Availability from incidents, latency, ratio (rules 5-7)
# --------------------------------------------------------------------------------------------


def availability_from_incidents(
    *,
    covered: Sequence[Interval],
    outages: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
) -> Figures:
    """Rule 5: downtime is the covered time inside the union of the outage incidents.

    An unresolved incident (end None) lasts until ``now``. For an open period pass covered
    time already cut at ``now``, or the future counts as good time.
    """
    now = _utc(now)
    covered_norm = union(covered)
    spans = union((start, now if end is None else end) for start, end in outages)
    covered_span = duration(covered_norm)
    down_span = duration(intersect(covered_norm, spans))
    covered_seconds = _seconds(covered_span)
    good = _seconds(covered_span - down_span)
    bad = _seconds(down_span)
    return Figures(
        good=good,
        bad=bad,
        achieved=_percent(good, covered_seconds) if covered_span else None,
        completeness=None,
        eligible=covered_seconds,
    )


def _is_number(value: float | Decimal) -> bool:
    # NaN (or infinity) is not a measurement; a Decimal NaN would even raise on comparison.
    return Decimal(value).is_finite()


def latency(
    *,
    covered: Sequence[Interval],
    probes: Iterable[tuple[datetime, bool, float | Decimal | None]],
    threshold_ms: int,
) -> Figures:
    """Rule 6: share of successful probes in covered time at or under the latency threshold.

    Results are ``(timestamp, ok, latency_ms)``. A successful result without a latency (None
    or NaN) measured nothing and is left out of both counts.
    """
    covered_norm = union(covered)
    limit = Decimal(threshold_ms)
    fast = slow = 0
    for ts, ok, latency_ms in probes:
        if not ok or latency_ms is None or not _is_number(latency_ms):
            continue
        if not contains(covered_norm, ts):
            continue
        # Decimal(float) is exact, so 200.0000001 is never rounded down onto the threshold.
        if Decimal(latency_ms) <= limit:
            fast += 1
        else:
            slow += 1
    return Figures(
        good=Decimal(fast),
        bad=Decimal(slow),
        achieved=_percent(fast, fast + slow) if fast + slow else None,
        completeness=None,
        eligible=Decimal(fast + slow),
    )


def ratio(*, covered: Sequence[Interval], events: Iterable[tuple[datetime, int, int]]) -> Figures:
    """Rule 7: Σgood / Σtotal over ``(timestamp, good, total)`` event counts in covered time."""
    covered_norm = union(covered)
    good = total = 0
    for ts, good_count, total_count in events:
        if contains(covered_norm, ts):
            good += good_count
            total += total_count
    return Figures(
        good=Decimal(good),
        bad=Decimal(total - good),
        achieved=_percent(good, total) if total else None,
        completeness=None,
        eligible=Decimal(total),
    )
