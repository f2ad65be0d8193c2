"""SLA computation engine (SPEC §3): pure functions, no framework, no I/O.

Everything here is exact: percents, achieved figures and money are `Decimal`, durations are
`timedelta` (integer microseconds). Datetimes going in must be timezone-aware; datetimes coming
out are aware UTC. Intervals are half-open ``[start, end)`` pairs.

Local-time rules (periods, coverage calendars, holidays) are decided by the *local wall clock*
of each UTC instant: an instant belongs to whatever local date and time-of-day it shows in the
agreement's zone. Daylight-saving time therefore needs no special cases: the engine cuts time
into stretches of constant UTC offset and, inside each stretch, local time is just UTC plus a
fixed offset.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "Budget",
    "Calendar",
    "Figures",
    "Interval",
    "Kind",
    "Maintenance",
    "MinuteState",
    "Status",
    "Ticket",
    "achieved",
    "availability_from_incidents",
    "availability_from_minute_states",
    "availability_from_probes",
    "burn_rate",
    "classify_minute",
    "clip",
    "clip_sorted",
    "contains",
    "coverage",
    "covered_time",
    "credit_percent",
    "duration",
    "eligible_minute_ranges",
    "error_budget",
    "intersect",
    "latency",
    "maintenance_exclusions",
    "minute_state_sql",
    "minutes_to_come",
    "objective_credit",
    "period_bounds",
    "period_credit",
    "period_credit_cap",
    "period_id",
    "periods_overlapping",
    "project",
    "ratio",
    "shift_period",
    "status",
    "subtract",
    "ticket_elapsed",
    "ticket_times",
    "union",
]

Interval = tuple[datetime, datetime]


class Status(StrEnum):
    """An objective's status in a period (rules 9 and 10; docs/rules.md)."""

    MET = "met"
    AT_RISK = "at_risk"  # open periods only
    BREACHED = "breached"
    NO_DATA = "no_data"

    @property
    def words(self) -> str:
        """The status as people read it ("at risk", "no data")."""
        return self.value.replace("_", " ")

    @property
    def rank(self) -> int:
        """Worst first: breached, at risk, no data, met (for sorting cards and rows)."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.BREACHED: 0, Status.AT_RISK: 1, Status.NO_DATA: 2, Status.MET: 3}


class Kind(StrEnum):
    """What an objective measures: its indicator, and for availability its source."""

    AVAILABILITY_PROBES = "availability:probes"  # rule 4
    AVAILABILITY_INCIDENTS = "availability:incidents"  # rule 5
    LATENCY = "latency"  # rule 6
    RATIO = "ratio"  # rule 7
    RESPONSE_TIME = "response_time"  # rule 8
    RESOLUTION_TIME = "resolution_time"  # rule 8

    @classmethod
    def of(cls, indicator: str, source: str = "") -> Kind:
        """The kind of an objective from its document fields; ValueError when unknown."""
        return cls(
            f"availability:{source or 'probes'}" if indicator == "availability" else indicator
        )

    @property
    def unit(self) -> str:
        """The indivisible unit its error budget is counted in (rule 11)."""
        return _KIND_UNITS[self]

    @property
    def from_summaries(self) -> bool:
        """Counted from per-minute/hour/day summaries, so a settled past can be checkpointed."""
        return self in (Kind.AVAILABILITY_PROBES, Kind.LATENCY, Kind.RATIO)


_KIND_UNITS = {
    Kind.AVAILABILITY_PROBES: "minutes",
    Kind.AVAILABILITY_INCIDENTS: "seconds",
    Kind.LATENCY: "probes",
    Kind.RATIO: "events",
    Kind.RESPONSE_TIME: "tickets",
    Kind.RESOLUTION_TIME: "tickets",
}


class MinuteState(StrEnum):
    """The verdict of one eligible minute with data (rule 4)."""

    UP = "up"
    DOWN = "down"


MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
MINUTES_PER_DAY = 1440
_ONE_US = timedelta(microseconds=1)
_HUNDRED = Decimal(100)
_AT_RISK_SPENT_SHARE = Decimal("0.75")
_AT_RISK_BURN_RATE = Decimal("14.4")
_CENT = Decimal("0.01")
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")

# Every ratio is computed in its own context, so a caller's global decimal context cannot
# change a money figure; 40 digits is well beyond the 28 the spec asks for.
_DECIMAL = Context(prec=40)

# Zone offsets never leave [-16h, +16h] (historic LMT offsets included), so a local day's
# instants all lie within this distance of the same wall-clock reading taken as UTC.
_MAX_OFFSET_SPAN = timedelta(hours=26)

# Offsets are sampled at this step and each change is bisected down to the microsecond. Two
# transitions that cancel out inside one step would be missed; no zone has them that close.
_OFFSET_SAMPLE_STEP = timedelta(hours=6)


# --------------------------------------------------------------------------------------------
# Data shapes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Weekly local coverage ranges (weekday 0=Mon..6=Sun -> minute-of-day ranges) and holidays.

    A range ``(start, end)`` is in local minutes of the day, ``0 <= start < end <= 1440``;
    1440 means the end of the day ("24:00").
    """

    weekly: Mapping[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        for weekday, ranges in self.weekly.items():
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be 0..6, got {weekday!r}")
            for start, end in ranges:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise ValueError(f"bad range {start}-{end} on weekday {weekday}")


@dataclass(frozen=True)
class Maintenance:
    """A maintenance window of a service and when it was announced."""

    start: datetime
    end: datetime
    announced_at: datetime


@dataclass(frozen=True)
class Ticket:
    """A ticket's opening and the end its indicator measures (first response or resolution)."""

    opened_at: datetime
    end_at: datetime | None


@dataclass(frozen=True)
class Figures:
    """The counts behind one objective's achieved figure for one window."""

    good: Decimal
    bad: Decimal
    achieved: Decimal | None
    completeness: Decimal | None
    pending: int = 0
    eligible: Decimal = Decimal(0)


@dataclass(frozen=True)
class Budget:
    """An error budget: allowed bad units, spent, remaining (absolute and percent of total)."""

    total: Decimal
    spent: Decimal
    remaining: Decimal
    remaining_percent: Decimal | None


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is UTC:
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: the engine only takes aware datetimes")
    return instant.astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    with localcontext(_DECIMAL):
        return _HUNDRED * Decimal(part) / Decimal(whole)


def achieved(good: Decimal | int, bad: Decimal | int) -> Decimal | None:
    """100 × good / (good + bad), exact to 40 digits; None without data (rule 9)."""
    return _percent(good, Decimal(good) + Decimal(bad)) if good or bad else None


def project(
    *,
    good: Decimal,
    bad: Decimal,
    recent_good: Decimal,
    recent_bad: Decimal,
    recent_seconds: Decimal,
    seconds_to_come: Decimal,
) -> tuple[Decimal, Decimal]:
    """An open period's (good, bad) at its end if the rest of it goes at the recent rate:
    the counts so far plus ``recent_*`` (counted over the last ``recent_seconds``) scaled
    to the ``seconds_to_come``. Units are those of the counts (minutes, seconds, probes,
    events, tickets). A projection, never a figure of record."""
    if recent_seconds <= 0 or seconds_to_come <= 0:
        return good, bad
    with localcontext(_DECIMAL):
        scale = seconds_to_come / recent_seconds
        return good + recent_good * scale, bad + recent_bad * scale


def _seconds(span: timedelta) -> Decimal:
    micros = (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
    with localcontext(_DECIMAL):
        return Decimal(micros) / Decimal(1_000_000)


def _parse_period(period: str) -> tuple[int, int]:
    match = _PERIOD_RE.match(period)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period id must be YYYY-MM, got {period!r}")
    return int(match.group(1)), int(match.group(2))


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _month_from_index(index: int) -> tuple[int, int]:
    return index // 12, index % 12 + 1


def _last_day_of_month(year: int, month: int) -> date:
    nxt_year, nxt_month = _month_from_index(_month_index(year, month) + 1)
    return date(nxt_year, nxt_month, 1) - timedelta(days=1)


# --------------------------------------------------------------------------------------------
# Offset stretches: the heart of the daylight-saving handling
# --------------------------------------------------------------------------------------------


def _first_change(lo: datetime, hi: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
    """First instant in (lo, hi] whose offset differs from ``offset`` (which holds at lo)."""
    while hi - lo > _ONE_US:
        mid = lo + (hi - lo) // 2
        if _offset(mid, zone) == offset:
            lo = mid
        else:
            hi = mid
    return hi


def _offset_stretches(
    start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime, timedelta]]:
    """Cut [start, end) into maximal stretches of constant UTC offset: (from, to, offset)."""
    if start >= end:
        return []
    stretches: list[tuple[datetime, datetime, timedelta]] = []
    stretch_start = start
    current = _offset(start, zone)
    cursor = start
    while cursor < end:
        step_end = min(cursor + _OFFSET_SAMPLE_STEP, end)
        # The instant `end` itself is outside the window, so probe the last instant inside.
        probe = step_end if step_end < end else end - _ONE_US
        probe_offset = _offset(probe, zone)
        lo = cursor
        while probe_offset != current:
            change = _first_change(lo, probe, current, zone)
            stretches.append((stretch_start, change, current))
            stretch_start, current, lo = change, _offset(change, zone), change
        cursor = step_end
    stretches.append((stretch_start, end, current))
    return stretches


def _local_ranges_to_utc(
    window: Interval,
    zone: ZoneInfo,
    ranges_of_day: Callable[[date], Iterable[tuple[int, int]]],
) -> list[Interval]:
    """UTC instants of ``window`` whose local wall clock lies in the day's local ranges.

    Inside a stretch of constant offset, local time is UTC + offset, so each local range maps
    to one UTC interval. Across a transition the next stretch maps the same wall-clock range
    with its own offset. That is how the rules come out by themselves: in a fall-back fold the
    repeated wall-clock hour appears in both stretches (the range covers it twice and its real
    length grows); in a spring-forward gap the skipped wall-clock times belong to no stretch
    (the range shrinks). Dates are taken from the local clock too, so a holiday or weekday is
    whatever the local calendar says at that instant, even when midnight itself is skipped.
    """
    start, end = _utc(window[0]), _utc(window[1])
    pieces: list[Interval] = []
    for s_from, s_to, offset in _offset_stretches(start, end, zone):
        utc_from = s_from.replace(tzinfo=None)
        utc_to = s_to.replace(tzinfo=None)
        local_from = utc_from + offset
        local_to = utc_to + offset
        day = local_from.date()
        while (midnight := datetime.combine(day, time())) < local_to:
            for lo_min, hi_min in ranges_of_day(day):
                lo = max(midnight + timedelta(minutes=lo_min) - offset, utc_from)
                hi = min(midnight + timedelta(minutes=hi_min) - offset, utc_to)
                if lo < hi:
                    pieces.append((lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC)))
            day += DAY
    return union(pieces)


def _first_instant_on_or_after(day: date, zone: ZoneInfo) -> datetime:
    """The first UTC instant whose local date is ``day`` or later.

    Not simply local midnight: where midnight falls into a spring-forward gap (America/Santiago,
    America/Havana, Asia/Beirut in some years) the day starts at the first wall-clock time after
    the gap, and a fold at midnight makes the date step back briefly; the first instant wins.
    """
    midnight = datetime.combine(day, time())
    start = (midnight - _MAX_OFFSET_SPAN).replace(tzinfo=UTC)
    end = (midnight + _MAX_OFFSET_SPAN).replace(tzinfo=UTC)
    for s_from, s_to, offset in _offset_stretches(start, end, zone):
        candidate = max(s_from, (midnight - offset).replace(tzinfo=UTC))
        if candidate < s_to:
            return candidate
    raise ValueError(f"no instant reaches local date {day} in {zone.key}")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Periods (rule 1)
# --------------------------------------------------------------------------------------------


def period_id(instant: datetime, tz: str) -> str:
    """The id (YYYY-MM) of the local calendar month holding ``instant`` in zone ``tz``."""
    local = _utc(instant).astimezone(_zone(tz))
    return f"{local.year:04d}-{local.month:02d}"


def period_bounds(
    period: str, tz: str, effective_from: date, effective_to: date | None
) -> Interval | None:
    """UTC bounds of a period cut to the effective dates (effective_to inclusive).

    The start is the first instant whose local date is at least the first day, the end the
    first instant whose local date is past the last day. None when the cut leaves nothing.
    """
    year, month = _parse_period(period)
    first = max(date(year, month, 1), effective_from)
    last = _last_day_of_month(year, month)
    if effective_to is not None:
        last = min(last, effective_to)
    if first > last:
        return None
    zone = _zone(tz)
    start = _first_instant_on_or_after(first, zone)
    end = _first_instant_on_or_after(last + DAY, zone)
    # A local date can be skipped entirely (Pacific/Apia, 2011-12-30): nothing is left.
    return (start, end) if start < end else None


def shift_period(period: str, months: int) -> str:
    """The period ``months`` months after (negative: before) ``period``."""
    year, month = _month_from_index(_month_index(*_parse_period(period)) + months)
    return f"{year:04d}-{month:02d}"


def periods_overlapping(start: date, end: date) -> list[str]:
    """Ids of the months from the month of ``start`` to that of ``end``, both inclusive."""
    first = _month_index(start.year, start.month)
    last = _month_index(end.year, end.month)
    return ["{:04d}-{:02d}".format(*_month_from_index(i)) for i in range(first, last + 1)]


# --------------------------------------------------------------------------------------------
# Interval algebra
# --------------------------------------------------------------------------------------------


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint UTC intervals covering the input; touching intervals are merged."""
    items = sorted((_utc(s), _utc(e)) for s, e in intervals)
    merged: list[Interval] = []
    for start, end in items:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Instants in both ``a`` and ``b``."""
    left, right = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Instants in ``a`` and not in ``b``."""
    holes = union(b)
    out: list[Interval] = []
    j = 0
    for start, end in union(a):
        while j < len(holes) and holes[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(holes) and holes[k][0] < end:
            if holes[k][0] > cursor:
                out.append((cursor, holes[k][0]))
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(a: Sequence[Interval], window: Interval) -> list[Interval]:
    """The parts of ``a`` inside ``window``."""
    return intersect(a, [window])


def clip_sorted(a: Sequence[Interval], window: Interval) -> list[Interval]:
    """``clip`` for intervals already sorted, disjoint and in UTC (as every function here
    returns them): one pass, no re-sorting, for the hot paths that clip the same covered
    time to many windows."""
    lo, hi = _utc(window[0]), _utc(window[1])
    out: list[Interval] = []
    if hi <= lo:  # an empty window clips everything away, as ``clip`` does
        return out
    for start, end in a:
        if end <= lo:
            continue
        if start >= hi:
            break
        out.append((max(start, lo), min(end, hi)))
    return out


def duration(intervals: Iterable[Interval]) -> timedelta:
    """Total length of the instants covered by ``intervals`` (overlaps counted once)."""
    return sum((end - start for start, end in union(intervals)), timedelta())


def contains(covered: Sequence[Interval], ts: datetime) -> bool:
    """Whether ``start <= ts < end`` for some interval of sorted, disjoint ``covered``."""
    ts = _utc(ts)
    index = bisect_right(covered, ts, key=lambda interval: interval[0])
    return index > 0 and ts < covered[index - 1][1]


# --------------------------------------------------------------------------------------------
# Coverage and maintenance (rules 2, 3)
# --------------------------------------------------------------------------------------------


def coverage(window: Interval, tz: str, calendar: Calendar | None) -> list[Interval]:
    """The instants of ``window`` covered by ``calendar`` in zone ``tz`` (None = always)."""
    if calendar is None:
        return union([window])
    weekly, holidays = calendar.weekly, calendar.holidays

    def ranges_of_day(day: date) -> Iterable[tuple[int, int]]:
        return () if day in holidays else weekly.get(day.weekday(), ())

    return _local_ranges_to_utc(window, _zone(tz), ranges_of_day)


def maintenance_exclusions(windows: Iterable[Maintenance], notice_hours: int) -> list[Interval]:
    """The windows announced at least ``notice_hours`` before their start, merged.

    Windows announced later are not returned: their time stays ordinary covered time.
    """
    notice = timedelta(hours=notice_hours)
    return union(
        (m.start, m.end) for m in windows if _utc(m.announced_at) <= _utc(m.start) - notice
    )


def covered_time(
    *,
    period: Interval,
    tz: str,
    calendar: Calendar | None,
    maintenance: Iterable[Maintenance],
    notice_hours: int,
) -> list[Interval]:
    """Covered time of an objective in a period: coverage minus announced maintenance."""
    return subtract(
        coverage(period, tz, calendar), maintenance_exclusions(maintenance, notice_hours)
    )


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


# --------------------------------------------------------------------------------------------
# Tickets (rule 8)
# --------------------------------------------------------------------------------------------


def ticket_elapsed(
    ticket: Ticket, *, tz: str, calendar: Calendar | None, now: datetime
) -> timedelta:
    """Covered time from opening to the measured end (or ``now`` while it is missing).

    No period cut and no maintenance apply. An end before the opening is a data error and
    counts as no time at all.
    """
    opened = _utc(ticket.opened_at)
    end = _utc(now if ticket.end_at is None else ticket.end_at)
    if end <= opened:
        return timedelta()
    return duration(coverage((opened, end), tz, calendar))


def ticket_times(
    *,
    tickets: Iterable[Ticket],
    tz: str,
    calendar: Calendar | None,
    threshold: timedelta,
    now: datetime,
) -> Figures:
    """Rule 8: met / breached / pending tickets against ``threshold``.

    The caller selects the tickets: the agreement's customer, the objective's priority, and
    the period holding each ``opened_at``.
    """
    met = breached = pending = 0
    for ticket in tickets:
        elapsed = ticket_elapsed(ticket, tz=tz, calendar=calendar, now=now)
        if elapsed > threshold:
            breached += 1
        elif ticket.end_at is not None:
            met += 1
        else:
            pending += 1
    return Figures(
        good=Decimal(met),
        bad=Decimal(breached),
        achieved=_percent(met, met + breached) if met + breached else None,
        completeness=None,
        pending=pending,
        eligible=Decimal(met + breached),
    )


# --------------------------------------------------------------------------------------------
# Budget, burn rate, status (rules 9-11)
# --------------------------------------------------------------------------------------------


def error_budget(
    *, target: Decimal, good: Decimal, bad: Decimal, reachable: Decimal | None = None
) -> Budget:
    """Rule 11: budget = (100 − target)% of the denominator; spent = bad.

    The denominator is good + bad, or for a time-based indicator in an open period
    ``reachable``: the largest denominator the period can still reach (probes: eligible
    minutes with data so far plus the eligible minutes to come, see ``minutes_to_come``;
    incidents: the whole period's covered seconds). Units as ``good`` and ``bad``.
    """
    denominator = good + bad if reachable is None else max(reachable, good + bad)
    with localcontext(_DECIMAL):
        total = (_HUNDRED - target) * denominator / _HUNDRED
        remaining = total - bad
        percent = _HUNDRED * remaining / total if total else None
    return Budget(total=total, spent=bad, remaining=remaining, remaining_percent=percent)


def burn_rate(*, target: Decimal, good: Decimal, bad: Decimal) -> Decimal | None:
    """Bad share of the window divided by the sustainable bad share (100 − target)%.

    Pass the last hour's counts. None without data; Infinity for any bad unit at target 100.
    """
    total = good + bad
    if not total:
        return None
    with localcontext(_DECIMAL):
        allowed = (_HUNDRED - target) / _HUNDRED
        if not allowed:
            return Decimal("Infinity") if bad else Decimal(0)
        return (bad / total) / allowed


def status(
    *,
    achieved: Decimal | None,
    target: Decimal,
    budget: Budget,
    burn_rate_1h: Decimal | None,
    closed: bool,
    time_based: bool = False,
) -> Status:
    """Rule 10: NO_DATA, BREACHED, MET, or (open periods only) AT_RISK.

    A closed period is met when achieved >= target. While open, figures are so far: a
    ``time_based`` objective (availability) is BREACHED only once its bad time exceeds the
    whole period's budget (``budget`` built with ``reachable``), so it can no longer be met;
    a count-based one once achieved so far < target. BREACHED while open therefore stays
    BREACHED at close. Otherwise AT_RISK when more than 75% of the budget is spent or the
    last hour burns it 14.4 times faster than sustainable.
    """
    if achieved is None:
        return Status.NO_DATA
    if closed:
        return Status.MET if achieved >= target else Status.BREACHED
    with localcontext(_DECIMAL):
        cannot_be_met = budget.spent > budget.total if time_based else achieved < target
    if cannot_be_met:
        return Status.BREACHED
    with localcontext(_DECIMAL):
        overspending = budget.spent > _AT_RISK_SPENT_SHARE * budget.total
    burning = burn_rate_1h is not None and burn_rate_1h >= _AT_RISK_BURN_RATE
    return Status.AT_RISK if overspending or burning else Status.MET


# --------------------------------------------------------------------------------------------
# Credits (rule 12)
# --------------------------------------------------------------------------------------------


def credit_percent(achieved: Decimal | None, tiers: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """Percent of the tier with the lowest ``below`` still greater than ``achieved``.

    Tiers are ``(below, percent)``. Decimal(0) when no tier applies or there is no data. Two
    tiers with the same ``below`` (which the document should refuse) give the larger percent.
    """
    if achieved is None:
        return Decimal(0)
    applicable = [(below, -percent) for below, percent in tiers if below > achieved]
    if not applicable:
        return Decimal(0)
    return -min(applicable)[1]


def objective_credit(*, monthly_fee: Decimal, percent: Decimal) -> Decimal:
    """Rule 12: one objective's credit, monthly_fee × percent / 100, exact (not rounded)."""
    with localcontext(_DECIMAL):
        return monthly_fee * percent / _HUNDRED


def period_credit_cap(*, monthly_fee: Decimal, cap_percent: Decimal) -> Decimal:
    """Rule 12: the most a period can credit, monthly_fee × cap_percent / 100, exact."""
    with localcontext(_DECIMAL):
        return monthly_fee * cap_percent / _HUNDRED


def period_credit(
    *, monthly_fee: Decimal, percents: Iterable[Decimal], cap_percent: Decimal
) -> Decimal:
    """Rule 12: Σ objective credits, capped at cap_percent of the fee, half-up to 0.01."""
    with localcontext(_DECIMAL):
        earned = sum(
            (objective_credit(monthly_fee=monthly_fee, percent=p) for p in percents), Decimal(0)
        )
        cap = period_credit_cap(monthly_fee=monthly_fee, cap_percent=cap_percent)
        return min(earned, cap).quantize(_CENT, rounding=ROUND_HALF_UP)
