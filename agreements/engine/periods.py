"""Periods (rule 1), coverage calendars (rule 2) and maintenance (rule 3).

Local-time rules are decided by the *local wall clock* of each UTC instant: an instant
belongs to whatever local date and time-of-day it shows in the agreement's zone. Daylight
saving therefore needs no special cases: time is cut into stretches of constant UTC offset
and, inside each stretch, local time is just UTC plus a fixed offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .basics import _ONE_US, DAY, MINUTES_PER_DAY, Interval, _offset, _utc, _zone
from .intervals import subtract, union

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")

# Zone offsets never leave [-16h, +16h] (historic LMT offsets included), so a local day's
# instants all lie within this distance of the same wall-clock reading taken as UTC.
_MAX_OFFSET_SPAN = timedelta(hours=26)

# Offsets are sampled at this step and each change is bisected down to the microsecond. Two
# transitions that cancel out inside one step would be missed; no zone has them that close.
_OFFSET_SAMPLE_STEP = timedelta(hours=6)


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
    exclusions: Iterable[Interval] = (),
) -> list[Interval]:
    """Covered time of an objective in a period (rules 2 and 3): coverage minus the
    maintenance announced in time and minus ``exclusions``, the (start, end) UTC intervals
    the provider's staff recorded as not its responsibility, whatever their notice."""
    removed = union([*maintenance_exclusions(maintenance, notice_hours), *exclusions])
    return subtract(coverage(period, tz, calendar), removed)
