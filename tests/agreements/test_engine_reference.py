"""The SLA engine held to a brute-force reference (SPEC §3).

The reference below is written independently of the engine and as plainly as possible: it
asks zoneinfo for the local wall clock of individual UTC instants and checks membership
directly, walking time in pieces that cannot change membership inside (whole UTC minutes, cut
further at every maintenance/incident bound). For the zones used here every offset and every
transition is a whole number of minutes, so calendar membership is constant inside a UTC
minute; `test_coverage_matches_second_by_second_walk` checks that claim second by second.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from agreements import engine
from agreements.engine import Calendar, Maintenance, Ticket

ZONES = [
    "UTC",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Pacific/Chatham",
]
PERIOD_ZONES = [*ZONES, "America/Havana", "Asia/Beirut", "America/Asuncion"]
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


# --------------------------------------------------------------------------------------------
# The reference
# --------------------------------------------------------------------------------------------


def floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def calendar_covers(t: datetime, tz: str, calendar: Calendar | None) -> bool:
    """Is instant t inside the calendar, judged by the local wall clock?"""
    if calendar is None:
        return True
    local = t.astimezone(ZoneInfo(tz))
    if local.date() in calendar.holidays:
        return False
    micros_of_day = (
        (local.hour * 60 + local.minute) * 60 + local.second
    ) * 1_000_000 + local.microsecond
    return any(
        start * 60_000_000 <= micros_of_day < end * 60_000_000
        for start, end in calendar.weekly.get(local.weekday(), ())
    )


def excluded_windows(windows: Iterable[Maintenance], notice_hours: int) -> list[Maintenance]:
    return [m for m in windows if m.announced_at <= m.start - timedelta(hours=notice_hours)]


@dataclass
class Setting:
    """One objective's situation: window, zone, calendar, maintenance."""

    window: tuple[datetime, datetime]
    tz: str
    calendar: Calendar | None
    maintenance: list[Maintenance]
    notice_hours: int

    def covered(self, t: datetime) -> bool:
        start, end = self.window
        if not start <= t < end:
            return False
        if not calendar_covers(t, self.tz, self.calendar):
            return False
        return not any(
            m.start <= t < m.end for m in excluded_windows(self.maintenance, self.notice_hours)
        )

    def cut_points(self) -> list[datetime]:
        points = [self.window[0], self.window[1]]
        for m in self.maintenance:
            points += [m.start, m.end]
        return points

    def engine_covered(self) -> list[tuple[datetime, datetime]]:
        return engine.covered_time(
            period=self.window,
            tz=self.tz,
            calendar=self.calendar,
            maintenance=self.maintenance,
            notice_hours=self.notice_hours,
        )


def pieces(
    start: datetime, end: datetime, extra: Iterable[datetime] = ()
) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at every whole UTC minute and every extra point inside it."""
    points = {start, end}
    t = floor_minute(start) + MINUTE
    while t < end:
        points.add(t)
        t += MINUTE
    points.update(p for p in extra if start < p < end)
    ordered = sorted(points)
    return list(itertools.pairwise(ordered))


def ref_intervals(
    start: datetime,
    end: datetime,
    member: Callable[[datetime], bool],
    extra: Iterable[datetime] = (),
) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for a, b in pieces(start, end, extra):
        if member(a):
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out


def micros(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def total(intervals: Iterable[tuple[datetime, datetime]]) -> timedelta:
    return sum((b - a for a, b in intervals), timedelta())


def close_to(value: Decimal | None, exact: Fraction | None) -> bool:
    if value is None or exact is None:
        return value is None and exact is None
    return abs(Fraction(value) - exact) <= Fraction(1, 10**30)


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


@cache
def transitions(tz: str) -> list[datetime]:
    """UTC hours in 2026 at which the zone's offset differs from the hour before."""
    zone = ZoneInfo(tz)
    found = []
    t = datetime(2026, 1, 1, tzinfo=UTC)
    previous = t.astimezone(zone).utcoffset()
    while t.year == 2026:
        t += timedelta(hours=1)
        offset = t.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(t)
        previous = offset
    return found


def anchors(tz: str) -> list[datetime]:
    month_starts = [datetime(2026, m, 1, tzinfo=UTC) for m in (1, 3, 4, 10, 11)]
    return transitions(tz) * 4 + month_starts + [datetime(2026, 6, 15, 12, tzinfo=UTC)]


interesting_minutes = st.sampled_from([0, 1, 59, 60, 90, 120, 150, 165, 180, 525, 1020, 1439, 1440])
minute_of_day = st.one_of(interesting_minutes, st.integers(0, 1440))


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    ranges = []
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(minute_of_day), draw(minute_of_day)
        if a != b:
            ranges.append((min(a, b), max(a, b)))
    return tuple(ranges)


@st.composite
def calendars(draw: st.DrawFn, near: datetime) -> Calendar | None:
    if draw(st.sampled_from(range(6))) == 0:
        return None
    weekly = {day: draw(day_ranges()) for day in range(7) if draw(st.booleans())}
    if draw(st.booleans()):
        # A full-day range makes long covered stretches and so exercises minute merging.
        weekly[draw(st.integers(0, 6))] = ((0, 1440),)
    base = near.date()
    holidays = frozenset(
        base + timedelta(days=d) for d in draw(st.lists(st.integers(-4, 4), max_size=3))
    )
    return Calendar(weekly=weekly, holidays=holidays)


def odd_instant(draw: st.DrawFn, base: datetime, seconds: int) -> datetime:
    """An instant within ±seconds of base, often at odd seconds or microseconds."""
    offset = timedelta(seconds=draw(st.integers(-seconds, seconds)))
    if draw(st.booleans()):
        offset += timedelta(microseconds=draw(st.integers(0, 999_999)))
    return base + offset


FRACTIONS = st.sampled_from([0, 0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.98, 1])


def spot(draw: st.DrawFn, start: datetime, end: datetime, jitter: int = 600) -> datetime:
    """An instant spread over [start, end] (and a little around it)."""
    # Drawn integers lean towards small values; a sampled fraction spreads the instants out.
    fraction = draw(FRACTIONS)
    return odd_instant(draw, start + (end - start) * fraction, jitter)


def span_seconds(draw: st.DrawFn, max_hours: int) -> int:
    hours = draw(st.sampled_from([h for h in (0, 1, 3, 6, 12, 24, 36, 48, 72) if h <= max_hours]))
    return max(0, hours * 3600 + draw(st.integers(-1800, 1800)))


@st.composite
def maintenance_windows(
    draw: st.DrawFn, window: tuple[datetime, datetime], notice_hours: int
) -> list[Maintenance]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        start = spot(draw, *window)
        end = start + timedelta(seconds=span_seconds(draw, 6) + 1)
        # Announcements land on, just before and just after the notice boundary.
        announce_shift = draw(
            st.one_of(st.sampled_from([-1, 0, 1]), st.integers(-3 * 86400, 3 * 86400))
        )
        announced = start - timedelta(hours=notice_hours) + timedelta(seconds=announce_shift)
        out.append(Maintenance(start=start, end=end, announced_at=announced))
    return out


@st.composite
def settings_(draw: st.DrawFn, max_hours: int = 72) -> Setting:
    tz = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(anchors(tz)))
    length = timedelta(seconds=span_seconds(draw, max_hours))
    # Windows mostly straddle the anchor, which is often a daylight-saving transition.
    start = odd_instant(draw, anchor - length * draw(FRACTIONS), 3600)
    if draw(st.booleans()):
        start = floor_minute(start)
    end = start + length
    notice = draw(st.sampled_from([0, 1, 24, 48]))
    window = (start, end)
    return Setting(
        window=window,
        tz=tz,
        calendar=draw(calendars(anchor)),
        maintenance=draw(maintenance_windows(window, notice)),
        notice_hours=notice,
    )


# --------------------------------------------------------------------------------------------
# Coverage, maintenance, covered time (rules 1-3)
# --------------------------------------------------------------------------------------------


@given(settings_())
def test_coverage_matches_reference(setting: Setting) -> None:
    start, end = setting.window
    expected = ref_intervals(start, end, lambda t: calendar_covers(t, setting.tz, setting.calendar))
    assert engine.coverage(setting.window, setting.tz, setting.calendar) == expected


@given(settings_())
def test_covered_time_matches_reference(setting: Setting) -> None:
    start, end = setting.window
    expected = ref_intervals(start, end, setting.covered, setting.cut_points())
    assert setting.engine_covered() == expected


@given(settings_(max_hours=1), st.data())
def test_coverage_matches_second_by_second_walk(setting: Setting, data: st.DataObject) -> None:
    # Short windows, walked one second at a time from a random sub-second phase.
    start, end = setting.window
    covered = setting.engine_covered()
    phase = timedelta(microseconds=data.draw(st.integers(0, 999_999)))
    t = start + phase
    while t < end:
        assert engine.contains(covered, t) == setting.covered(t), t
        t += SECOND


# --------------------------------------------------------------------------------------------
# Availability from probes (rule 4)
# --------------------------------------------------------------------------------------------


def ref_eligible_minutes(setting: Setting) -> list[datetime]:
    start, end = setting.window
    cuts = setting.cut_points()
    minute = floor_minute(start)
    if minute < start:
        minute += MINUTE
    out = []
    while minute + MINUTE <= end:
        inside = [minute] + [p for p in cuts if minute < p < minute + MINUTE]
        if all(setting.covered(p) for p in inside):
            out.append(minute)
        minute += MINUTE
    return out


def split_at(
    intervals: Sequence[tuple[datetime, datetime]], points: Iterable[datetime]
) -> list[tuple[datetime, datetime]]:
    out = []
    for start, end in intervals:
        inner = sorted(p for p in set(points) if start < p < end)
        bounds = [start, *inner, end]
        out += list(itertools.pairwise(bounds))
    return out


def ref_verdict(ok: int, failed: int) -> str | None:
    if ok + failed == 0:
        return None
    return "down" if Fraction(failed) > Fraction(ok + failed, 2) else "up"


def probe_stream(seed: int, setting: Setting, density: float) -> dict[datetime, tuple[int, int]]:
    """Results from several locations, summed per minute; gaps and ties included."""
    rng = random.Random(seed)
    counts: dict[datetime, tuple[int, int]] = {}
    minute = floor_minute(setting.window[0]) - 3 * MINUTE
    while minute < setting.window[1] + 3 * MINUTE:
        if rng.random() < density:
            ok = failed = 0
            for _location in range(rng.randint(1, 3)):
                results = rng.randint(0, 2)
                bad = rng.choice([0, results, rng.randint(0, results)])
                ok += results - bad
                failed += bad
            counts[minute] = (ok, failed)
        minute += MINUTE
    return counts


@given(settings_(max_hours=30), st.integers(0, 2**32), st.sampled_from([0.0, 0.3, 0.9, 1.0]))
def test_availability_from_probes_matches_reference(
    setting: Setting, seed: int, density: float
) -> None:
    counts = probe_stream(seed, setting, density)
    eligible = ref_eligible_minutes(setting)
    verdicts = [ref_verdict(*counts.get(m, (0, 0))) for m in eligible]
    up, down = verdicts.count("up"), verdicts.count("down")
    with_data = up + down

    # Hand the engine covered time cut into touching pieces: no minute may be lost at a cut.
    covered = split_at(setting.engine_covered(), setting.cut_points() + list(counts)[::7])
    figures = engine.availability_from_probes(covered=covered, minute_counts=counts)

    assert (figures.good, figures.bad, figures.eligible) == (up, down, len(eligible))
    assert close_to(figures.achieved, Fraction(100 * up, up + down) if up + down else None)
    assert close_to(
        figures.completeness, Fraction(100 * with_data, len(eligible)) if eligible else None
    )
    eligible_set = set(eligible)
    expected_ranges = ref_intervals(
        setting.window[0],
        setting.window[1],
        lambda t: floor_minute(t) in eligible_set,
    )
    assert engine.eligible_minute_ranges(covered) == expected_ranges


# --------------------------------------------------------------------------------------------
# Availability from incidents (rule 5)
# --------------------------------------------------------------------------------------------


@st.composite
def outages(
    draw: st.DrawFn, window: tuple[datetime, datetime]
) -> list[tuple[datetime, datetime | None]]:
    out: list[tuple[datetime, datetime | None]] = []
    for _ in range(draw(st.integers(0, 4))):
        start = spot(draw, *window, jitter=7200)
        unresolved = draw(st.sampled_from(range(5))) == 0
        end = None if unresolved else start + timedelta(seconds=span_seconds(draw, 12))
        out.append((start, end))
    return out


@given(settings_(max_hours=48), st.data())
def test_availability_from_incidents_matches_reference(
    setting: Setting, data: st.DataObject
) -> None:
    incidents = data.draw(outages(setting.window))
    now = spot(data.draw, *setting.window, jitter=3600)

    def down(t: datetime) -> bool:
        return any(s <= t < (now if e is None else e) for s, e in incidents)

    cuts = [*setting.cut_points(), now]
    cuts += [p for s, e in incidents for p in (s, e) if p is not None]
    covered_us = down_us = 0
    for a, b in pieces(setting.window[0], setting.window[1], cuts):
        if setting.covered(a):
            covered_us += micros(b - a)
            if down(a):
                down_us += micros(b - a)

    figures = engine.availability_from_incidents(
        covered=setting.engine_covered(), outages=incidents, now=now
    )

    million = Fraction(1_000_000)
    assert Fraction(figures.eligible) == covered_us / million
    assert Fraction(figures.bad) == down_us / million
    assert Fraction(figures.good) == (covered_us - down_us) / million
    expected = Fraction(100 * (covered_us - down_us), covered_us) if covered_us else None
    assert close_to(figures.achieved, expected)
    assert figures.completeness is None


# --------------------------------------------------------------------------------------------
# Latency and ratio (rules 6, 7)
# --------------------------------------------------------------------------------------------


def timestamps(draw: st.DrawFn, setting: Setting, count: int) -> list[datetime]:
    """Instants spread over the window, many exactly on a cut or a whole minute."""
    start, end = setting.window
    special = setting.cut_points()
    out = []
    for _ in range(count):
        kind = draw(st.sampled_from(range(3)))
        if kind == 0:
            point = draw(st.sampled_from(special))
            out.append(point + timedelta(microseconds=draw(st.sampled_from([-1, 0, 1]))))
        elif kind == 1:
            out.append(floor_minute(spot(draw, start, end)))
        else:
            out.append(spot(draw, start, end))
    return out


@given(settings_(max_hours=48), st.data())
def test_latency_matches_reference(setting: Setting, data: st.DataObject) -> None:
    threshold = data.draw(st.sampled_from([1, 200, 1000]))
    latency_values = st.one_of(
        st.none(),
        st.integers(0, 2 * threshold),
        st.sampled_from([threshold, threshold + 1e-9, threshold - 1e-9, float(threshold)]),
        st.decimals(min_value=0, max_value=2 * threshold, places=3),
        st.just(float("nan")),
    )
    stamps = timestamps(data.draw, setting, data.draw(st.integers(0, 30)))
    probes = [(ts, data.draw(st.booleans()), data.draw(latency_values)) for ts in stamps]

    fast = slow = 0
    for ts, ok, latency_ms in probes:
        if not ok or latency_ms is None or latency_ms != latency_ms:
            continue
        if setting.covered(ts):
            if Fraction(latency_ms) <= threshold:
                fast += 1
            else:
                slow += 1

    figures = engine.latency(
        covered=setting.engine_covered(), probes=probes, threshold_ms=threshold
    )

    assert (figures.good, figures.bad) == (fast, slow)
    assert close_to(figures.achieved, Fraction(100 * fast, fast + slow) if fast + slow else None)


@given(settings_(max_hours=48), st.data())
def test_ratio_matches_reference(setting: Setting, data: st.DataObject) -> None:
    stamps = timestamps(data.draw, setting, data.draw(st.integers(0, 30)))
    events = []
    for ts in stamps:
        all_events = data.draw(st.integers(0, 10**6))
        events.append((ts, data.draw(st.integers(0, all_events)), all_events))

    good = sum(g for ts, g, _ in events if setting.covered(ts))
    every = sum(n for ts, _, n in events if setting.covered(ts))

    figures = engine.ratio(covered=setting.engine_covered(), events=events)

    assert (figures.good, figures.bad) == (good, every - good)
    assert close_to(figures.achieved, Fraction(100 * good, every) if every else None)


# --------------------------------------------------------------------------------------------
# Tickets (rule 8)
# --------------------------------------------------------------------------------------------


def local_edge(draw: st.DrawFn, tz: str, near: datetime) -> datetime:
    """A local wall-clock minute where calendar ranges tend to begin or end (and DST
    changes happen), on a day around ``near``, as a UTC instant (either fold)."""
    zone = ZoneInfo(tz)
    day = near.astimezone(zone).date() + timedelta(days=draw(st.integers(-2, 2)))
    minute = min(draw(interesting_minutes), 1439)
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    return local.replace(fold=draw(st.sampled_from([0, 1]))).astimezone(UTC)


@st.composite
def pauses(draw: st.DrawFn, opened: datetime, tz: str = "UTC") -> tuple[engine.Pause, ...]:
    """Up to three pauses around the opening, at most one still open (no end); their
    bounds often fall on coverage edges, midnight (holidays) and DST changes."""
    out: list[engine.Pause] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            start = spot(draw, opened - timedelta(hours=2), opened + timedelta(hours=30))
        else:
            start = local_edge(draw, tz, opened)
        if draw(st.sampled_from(range(4))) == 0 and all(end is not None for _, end in out):
            out.append((start, None))
        elif draw(st.booleans()):
            out.append((start, start + timedelta(seconds=span_seconds(draw, 24) + 1)))
        else:
            end = local_edge(draw, tz, start + timedelta(hours=12))
            out.append((start, max(end, start + SECOND)))
    return tuple(out)


def ref_paused(ticket: Ticket, t: datetime, now: datetime) -> bool:
    """Is instant t inside a pause (one with no end lasts until now)?"""
    return any(start <= t < (now if end is None else end) for start, end in ticket.paused)


def ref_elapsed(ticket: Ticket, tz: str, calendar: Calendar | None, now: datetime) -> timedelta:
    stop = now if ticket.end_at is None else ticket.end_at
    if stop <= ticket.opened_at:
        return timedelta()
    cuts = [now, *(p for pause in ticket.paused for p in pause if p is not None)]
    return total(
        ref_intervals(
            ticket.opened_at,
            stop,
            lambda t: calendar_covers(t, tz, calendar) and not ref_paused(ticket, t, now),
            cuts,
        )
    )


REF_DUE_HORIZON = timedelta(days=4)


def ref_due_at(
    ticket: Ticket, threshold: timedelta, tz: str, calendar: Calendar | None, now: datetime
) -> datetime | None:
    """Walk covered, unpaused time from the opening until it adds up to the threshold; an
    open pause holds the clock from its start on. Returns REF_DUE_HORIZON's end when the walk
    got that far without reaching it."""
    frozen = min((start for start, end in ticket.paused if end is None), default=None)
    if threshold <= timedelta():
        return None if frozen is not None and ticket.opened_at > frozen else ticket.opened_at
    horizon = ticket.opened_at + REF_DUE_HORIZON
    cuts = [now, *(p for pause in ticket.paused for p in pause if p is not None)]
    acc = timedelta()
    for a, b in pieces(ticket.opened_at, horizon, cuts):
        if frozen is not None and a >= frozen:
            return None
        if calendar_covers(a, tz, calendar) and not ref_paused(ticket, a, now):
            if acc + (b - a) >= threshold:
                reached = a + (threshold - acc)
                return None if frozen is not None and reached > frozen else reached
            acc += b - a
    return horizon


@given(st.data())
def test_ticket_times_match_reference(data: st.DataObject) -> None:
    tz = data.draw(st.sampled_from(ZONES))
    anchor = data.draw(st.sampled_from(anchors(tz)))
    calendar = data.draw(calendars(anchor))
    threshold = timedelta(minutes=data.draw(st.sampled_from([0, 1, 30, 60, 240, 480, 1440])))
    tickets = []
    for _ in range(data.draw(st.integers(0, 3))):
        opened = spot(data.draw, anchor - timedelta(hours=30), anchor, jitter=3600)
        end_kind = data.draw(st.sampled_from(range(5)))
        if end_kind == 0:
            end = None
        elif end_kind == 1:
            end = opened - timedelta(seconds=data.draw(st.integers(1, 3600)))
        else:
            end = opened + timedelta(seconds=span_seconds(data.draw, 36))
        tickets.append(Ticket(opened_at=opened, end_at=end, paused=data.draw(pauses(opened, tz))))
    now = spot(data.draw, anchor - timedelta(hours=12), anchor + timedelta(hours=24))

    met = breached = pending = 0
    for ticket in tickets:
        elapsed = ref_elapsed(ticket, tz, calendar, now)
        assert engine.ticket_elapsed(ticket, tz=tz, calendar=calendar, now=now) == elapsed
        if elapsed > threshold:
            breached += 1
        elif ticket.end_at is None:
            pending += 1
        else:
            met += 1

    figures = engine.ticket_times(
        tickets=tickets, tz=tz, calendar=calendar, threshold=threshold, now=now
    )

    assert (figures.good, figures.bad, figures.pending) == (met, breached, pending)
    assert close_to(
        figures.achieved, Fraction(100 * met, met + breached) if met + breached else None
    )


@given(st.data())
def test_due_times_match_reference(data: st.DataObject) -> None:
    tz = data.draw(st.sampled_from(ZONES))
    anchor = data.draw(st.sampled_from(anchors(tz)))
    calendar = data.draw(calendars(anchor))
    threshold = timedelta(minutes=data.draw(st.sampled_from([0, 1, 30, 60, 240, 480, 1440])))
    tickets = []
    for _ in range(data.draw(st.integers(1, 3))):
        opened = spot(data.draw, anchor - timedelta(hours=30), anchor, jitter=3600)
        end = None if data.draw(st.booleans()) else opened + timedelta(hours=1)
        tickets.append(Ticket(opened_at=opened, end_at=end, paused=data.draw(pauses(opened, tz))))
    now = spot(data.draw, anchor - timedelta(hours=12), anchor + timedelta(hours=24))

    clocks = engine.ticket_clocks(
        tickets=tickets, threshold=threshold, tz=tz, calendar=calendar, now=now
    )

    for ticket, clock in zip(tickets, clocks, strict=True):
        expected = ref_due_at(ticket, threshold, tz, calendar, now)
        single = engine.due_at(ticket, threshold, tz, calendar, now)
        if expected == ticket.opened_at + REF_DUE_HORIZON:
            assert single is None or single >= expected
        else:
            assert single == expected
        assert clock.due_at == single
        assert clock.elapsed == ref_elapsed(ticket, tz, calendar, now)
        assert clock.state == (
            "breached"
            if clock.elapsed > threshold
            else ("pending" if ticket.end_at is None else "met")
        )
        assert clock.paused == any(end is None and start <= now for start, end in ticket.paused)


# --------------------------------------------------------------------------------------------
# Periods (rule 1)
# --------------------------------------------------------------------------------------------


def ref_first_instant_from(day: date, zone: ZoneInfo) -> datetime:
    """Scan forward, a quarter hour then a minute at a time, to the first local date >= day."""
    t = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=16)
    while t.astimezone(zone).date() < day:
        t += timedelta(minutes=15)
    back = t - timedelta(minutes=15)
    while back.astimezone(zone).date() < day:
        back += MINUTE
    return back


@cache
def transition_days(tz: str, year: int) -> list[date]:
    """Local dates around which the zone's offset changes during the year."""
    zone = ZoneInfo(tz)
    days = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        if t.astimezone(zone).utcoffset() != (t + timedelta(days=1)).astimezone(zone).utcoffset():
            days.append(t.date() + timedelta(days=1))
        t += timedelta(days=1)
    return days


@given(st.sampled_from(PERIOD_ZONES), st.integers(1985, 2035), st.data())
def test_period_bounds_match_reference(tz: str, year: int, data: st.DataObject) -> None:
    # Effective dates fall on, next to, or away from the days the clocks change, and the
    # period is often the month of such a day.
    near_changes = [
        day + timedelta(days=shift) for day in transition_days(tz, year) for shift in (-1, 0, 1)
    ]
    if near_changes and data.draw(st.booleans()):
        month = data.draw(st.sampled_from(near_changes)).month
    else:
        month = data.draw(st.integers(1, 12))
    first_day = date(year, month, 1)
    last_day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    dates = st.one_of(
        st.sampled_from(near_changes or [first_day]),
        st.builds(lambda d: first_day + timedelta(days=d), st.integers(-40, 40)),
    )
    effective_from = data.draw(dates)
    effective_to = data.draw(st.one_of(st.none(), dates))
    period = f"{year:04d}-{month:02d}"
    zone = ZoneInfo(tz)

    first = max(first_day, effective_from)
    last = last_day if effective_to is None else min(last_day, effective_to)
    expected = None
    if first <= last:
        start = ref_first_instant_from(first, zone)
        end = ref_first_instant_from(last + timedelta(days=1), zone)
        expected = (start, end)

    bounds = engine.period_bounds(period, tz, effective_from, effective_to)

    assert bounds == expected
    if bounds is not None:
        start, end = bounds
        assert engine.period_id(start, tz) == period
        assert engine.period_id(end - timedelta(microseconds=1), tz) == period


@given(
    st.sampled_from(PERIOD_ZONES),
    st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2040, 1, 1)),
)
def test_period_id_is_the_local_month(tz: str, naive: datetime) -> None:
    instant = naive.replace(tzinfo=UTC)
    local = instant.astimezone(ZoneInfo(tz))
    assert engine.period_id(instant, tz) == f"{local.year:04d}-{local.month:02d}"


@given(st.integers(1, 9998), st.integers(1, 12), st.integers(-500, 500))
def test_shift_period_matches_month_stepping(year: int, month: int, months: int) -> None:
    y, m = year, month
    for _ in range(abs(months)):
        if months > 0:
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        else:
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    if 1 <= y <= 9999:
        assert engine.shift_period(f"{year:04d}-{month:02d}", months) == f"{y:04d}-{m:02d}"


# --------------------------------------------------------------------------------------------
# Interval algebra against a set of unit cells
# --------------------------------------------------------------------------------------------

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def as_intervals(cells: Sequence[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    return [(BASE + timedelta(seconds=a), BASE + timedelta(seconds=b)) for a, b in cells]


def as_cells(intervals: Iterable[tuple[datetime, datetime]]) -> set[int]:
    out: set[int] = set()
    for a, b in intervals:
        out.update(range(int((a - BASE).total_seconds()), int((b - BASE).total_seconds())))
    return out


raw_intervals = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8)


def is_normal(intervals: list[tuple[datetime, datetime]]) -> bool:
    return all(a < b for a, b in intervals) and all(
        left[1] < right[0] for left, right in itertools.pairwise(intervals)
    )


@given(raw_intervals, raw_intervals, st.tuples(st.integers(0, 60), st.integers(0, 60)))
def test_interval_algebra_matches_sets(
    a: list[tuple[int, int]], b: list[tuple[int, int]], window: tuple[int, int]
) -> None:
    ia, ib = as_intervals(a), as_intervals(b)
    sa, sb = as_cells(ia), as_cells(ib)
    win = as_intervals([window])[0]
    results = {
        "union": (engine.union(ia + ib), sa | sb),
        "intersect": (engine.intersect(ia, ib), sa & sb),
        "subtract": (engine.subtract(ia, ib), sa - sb),
        "clip": (engine.clip(ia, win), sa & as_cells([win])),
    }
    for name, (got, cells) in results.items():
        assert is_normal(got), name
        assert as_cells(got) == cells, name
    assert engine.duration(ia) == timedelta(seconds=len(sa))
    for second in range(-1, 62):
        instant = BASE + timedelta(seconds=second, microseconds=500)
        assert engine.contains(engine.union(ia), instant) == (second in sa)
