"""Unit tests of the SLA engine's public functions (SPEC §3)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreements import engine
from agreements.engine import Budget, Calendar, Figures, Maintenance, Ticket

BUSINESS_HOURS = Calendar(weekly=dict.fromkeys(range(5), ((9 * 60, 17 * 60),)))


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def near(value: Decimal | None, exact: Fraction) -> bool:
    """Equal to the exact quotient within the engine's (more than 28-digit) precision."""
    return value is not None and abs(Fraction(value) - exact) < Fraction(1, 10**28)


# --------------------------------------------------------------------------------------------
# Interval algebra
# --------------------------------------------------------------------------------------------


def test_union_sorts_merges_touching_and_drops_empty() -> None:
    got = engine.union(
        [
            (u(2026, 1, 1, 3), u(2026, 1, 1, 4)),
            (u(2026, 1, 1, 1), u(2026, 1, 1, 2)),
            (u(2026, 1, 1, 2), u(2026, 1, 1, 3)),
            (u(2026, 1, 1, 5), u(2026, 1, 1, 5)),
            (u(2026, 1, 1, 7), u(2026, 1, 1, 6)),
            (u(2026, 1, 1, 8), u(2026, 1, 1, 10)),
            (u(2026, 1, 1, 8, 30), u(2026, 1, 1, 9)),
        ]
    )
    assert got == [(u(2026, 1, 1, 1), u(2026, 1, 1, 4)), (u(2026, 1, 1, 8), u(2026, 1, 1, 10))]


def test_union_converts_aware_datetimes_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    got = engine.union([(datetime(2026, 1, 1, 12, tzinfo=plus_two), u(2026, 1, 1, 11))])
    assert got == [(u(2026, 1, 1, 10), u(2026, 1, 1, 11))]
    assert got[0][0].tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        engine.union([(datetime(2026, 1, 1), datetime(2026, 1, 2))])
    with pytest.raises(ValueError, match="naive"):
        engine.period_id(datetime(2026, 1, 1), "UTC")


def test_intersect() -> None:
    a = [(u(2026, 1, 1, 0), u(2026, 1, 1, 10)), (u(2026, 1, 1, 12), u(2026, 1, 1, 14))]
    b = [(u(2026, 1, 1, 9), u(2026, 1, 1, 13)), (u(2026, 1, 1, 14), u(2026, 1, 1, 15))]
    assert engine.intersect(a, b) == [
        (u(2026, 1, 1, 9), u(2026, 1, 1, 10)),
        (u(2026, 1, 1, 12), u(2026, 1, 1, 13)),
    ]
    assert engine.intersect(a, []) == []


def test_subtract_cuts_holes_and_keeps_touching_edges() -> None:
    a = [(u(2026, 1, 1, 0), u(2026, 1, 1, 10))]
    b = [
        (u(2026, 1, 1, 1), u(2026, 1, 1, 2)),
        (u(2026, 1, 1, 2), u(2026, 1, 1, 3)),
        (u(2026, 1, 1, 9), u(2026, 1, 1, 11)),
    ]
    assert engine.subtract(a, b) == [
        (u(2026, 1, 1, 0), u(2026, 1, 1, 1)),
        (u(2026, 1, 1, 3), u(2026, 1, 1, 9)),
    ]
    assert engine.subtract(a, [(u(2025, 1, 1), u(2027, 1, 1))]) == []
    assert engine.subtract(a, []) == a


def test_clip_and_duration() -> None:
    a = [(u(2026, 1, 1, 0), u(2026, 1, 1, 10)), (u(2026, 1, 2, 0), u(2026, 1, 2, 1))]
    assert engine.clip(a, (u(2026, 1, 1, 8), u(2026, 1, 2, 0, 30))) == [
        (u(2026, 1, 1, 8), u(2026, 1, 1, 10)),
        (u(2026, 1, 2, 0), u(2026, 1, 2, 0, 30)),
    ]
    assert engine.duration(a) == hours(11)
    # Overlaps count once.
    assert engine.duration(a + a) == hours(11)
    assert engine.duration([]) == timedelta()


@given(
    spans=st.lists(st.tuples(st.integers(0, 500), st.integers(1, 60)), max_size=12),
    window=st.tuples(st.integers(-50, 600), st.integers(0, 300)),
)
def test_clip_sorted_equals_clip_on_normalised_intervals(
    spans: list[tuple[int, int]], window: tuple[int, int]
) -> None:
    base = u(2026, 1, 1)
    a = engine.union(
        (base + timedelta(minutes=s), base + timedelta(minutes=s + n)) for s, n in spans
    )
    w = (base + timedelta(minutes=window[0]), base + timedelta(minutes=window[0] + window[1]))
    berlin = timezone(timedelta(hours=1))
    assert engine.clip_sorted(a, w) == engine.clip(a, w)
    assert engine.clip_sorted(a, (w[0].astimezone(berlin), w[1])) == engine.clip(a, w)


def test_clip_sorted_to_an_empty_window_returns_nothing() -> None:
    # Found by the property test above: clipping to an empty window gave a zero-length
    # interval where ``clip`` gives none.
    base = u(2026, 1, 1)
    spans = [(base, base + timedelta(minutes=2))]
    empty = (base + timedelta(minutes=1), base + timedelta(minutes=1))
    assert engine.clip_sorted(spans, empty) == engine.clip(spans, empty) == []
    backwards = (base + timedelta(minutes=1), base)
    assert engine.clip_sorted(spans, backwards) == []


def test_contains_is_half_open() -> None:
    covered = [(u(2026, 1, 1, 1), u(2026, 1, 1, 2)), (u(2026, 1, 1, 3), u(2026, 1, 1, 4))]
    assert engine.contains(covered, u(2026, 1, 1, 1))
    assert not engine.contains(covered, u(2026, 1, 1, 2))
    assert engine.contains(covered, u(2026, 1, 1, 2) - timedelta(microseconds=1))
    assert not engine.contains(covered, u(2026, 1, 1, 0))
    assert not engine.contains(covered, u(2026, 1, 1, 5))
    assert engine.contains(covered, u(2026, 1, 1, 3, 30))
    assert not engine.contains([], u(2026, 1, 1))


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


def test_period_id() -> None:
    assert engine.period_id(u(2026, 3, 31, 23, 59), "UTC") == "2026-03"
    assert engine.period_id(u(2026, 3, 31, 22), "Europe/Berlin") == "2026-04"
    assert engine.period_id(u(2026, 3, 1, 3), "America/New_York") == "2026-02"


def test_period_bounds_full_month() -> None:
    assert engine.period_bounds("2026-02", "UTC", date(2020, 1, 1), None) == (
        u(2026, 2, 1),
        u(2026, 3, 1),
    )
    # The Berlin month of March starts in winter time and ends in summer time.
    assert engine.period_bounds("2026-03", "Europe/Berlin", date(2020, 1, 1), None) == (
        u(2026, 2, 28, 23),
        u(2026, 3, 31, 22),
    )


def test_period_bounds_effective_to_is_inclusive() -> None:
    assert engine.period_bounds("2026-03", "UTC", date(2020, 1, 1), date(2026, 3, 10)) == (
        u(2026, 3, 1),
        u(2026, 3, 11),
    )


def test_period_bounds_none_when_cut_leaves_nothing() -> None:
    assert engine.period_bounds("2026-03", "UTC", date(2026, 4, 1), None) is None
    assert engine.period_bounds("2026-03", "UTC", date(2020, 1, 1), date(2026, 2, 28)) is None


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", ""])
def test_bad_period_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        engine.shift_period(bad, 1)


@pytest.mark.parametrize(
    ("period", "months", "expected"),
    [
        ("2026-12", 1, "2027-01"),
        ("2026-01", -1, "2025-12"),
        ("2026-05", 0, "2026-05"),
        ("2026-05", 25, "2028-06"),
        ("2026-05", -17, "2024-12"),
    ],
)
def test_shift_period(period: str, months: int, expected: str) -> None:
    assert engine.shift_period(period, months) == expected


def test_periods_overlapping() -> None:
    assert engine.periods_overlapping(date(2025, 11, 30), date(2026, 2, 1)) == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert engine.periods_overlapping(date(2026, 3, 1), date(2026, 3, 31)) == ["2026-03"]
    assert engine.periods_overlapping(date(2026, 3, 1), date(2026, 2, 1)) == []


# --------------------------------------------------------------------------------------------
# Coverage and maintenance
# --------------------------------------------------------------------------------------------


def test_coverage_always() -> None:
    window = (u(2026, 1, 1), u(2026, 1, 2))
    assert engine.coverage(window, "Europe/Berlin", None) == [window]
    assert engine.coverage((u(2026, 1, 2), u(2026, 1, 1)), "UTC", None) == []


def test_coverage_business_hours_week_in_berlin() -> None:
    # Monday 2026-01-05 .. Monday 2026-01-12, Berlin is UTC+1 in winter.
    got = engine.coverage((u(2026, 1, 5), u(2026, 1, 12)), "Europe/Berlin", BUSINESS_HOURS)
    assert got == [(u(2026, 1, d, 8), u(2026, 1, d, 16)) for d in range(5, 10)]


def test_coverage_skips_holidays_by_local_date() -> None:
    calendar = Calendar(weekly=BUSINESS_HOURS.weekly, holidays=frozenset({date(2026, 1, 6)}))
    got = engine.coverage((u(2026, 1, 5), u(2026, 1, 8)), "Europe/Berlin", calendar)
    assert got == [(u(2026, 1, 5, 8), u(2026, 1, 5, 16)), (u(2026, 1, 7, 8), u(2026, 1, 7, 16))]


def test_coverage_full_days_merge_across_midnight() -> None:
    calendar = Calendar(weekly={0: ((0, 1440),), 1: ((0, 1440),)})
    got = engine.coverage((u(2026, 1, 4), u(2026, 1, 8)), "UTC", calendar)
    assert got == [(u(2026, 1, 5), u(2026, 1, 7))]


def test_coverage_window_cuts_ranges() -> None:
    window = (u(2026, 1, 5, 10, 0, 30), u(2026, 1, 5, 12))
    assert engine.coverage(window, "UTC", BUSINESS_HOURS) == [window]


@pytest.mark.parametrize("ranges", [((0, 0),), ((-1, 10),), ((100, 1441),), ((500, 400),)])
def test_calendar_refuses_bad_ranges(ranges: tuple[tuple[int, int], ...]) -> None:
    with pytest.raises(ValueError, match="bad range"):
        Calendar(weekly={0: ranges})
    with pytest.raises(ValueError, match="weekday"):
        Calendar(weekly={7: ((0, 60),)})


def test_maintenance_exclusions_need_notice() -> None:
    start = u(2026, 1, 10, 2)
    windows = [
        Maintenance(start=start, end=start + hours(1), announced_at=start - hours(48)),
        Maintenance(start=start + hours(1), end=start + hours(2), announced_at=start - hours(72)),
        Maintenance(start=start + hours(5), end=start + hours(6), announced_at=start),
    ]
    assert engine.maintenance_exclusions(windows, 48) == [(start, start + hours(2))]
    assert engine.maintenance_exclusions(windows, 0) == [
        (start, start + hours(2)),
        (start + hours(5), start + hours(6)),
    ]


def test_covered_time_combines_period_calendar_and_maintenance() -> None:
    period = engine.period_bounds("2026-01", "UTC", date(2026, 1, 5), date(2026, 1, 5))
    assert period is not None
    maintenance = [
        Maintenance(start=u(2026, 1, 5, 12), end=u(2026, 1, 5, 13), announced_at=u(2026, 1, 1)),
        Maintenance(start=u(2026, 1, 5, 14), end=u(2026, 1, 5, 15), announced_at=u(2026, 1, 5, 13)),
    ]
    got = engine.covered_time(
        period=period, tz="UTC", calendar=BUSINESS_HOURS, maintenance=maintenance, notice_hours=24
    )
    assert got == [(u(2026, 1, 5, 9), u(2026, 1, 5, 12)), (u(2026, 1, 5, 13), u(2026, 1, 5, 17))]


def test_coverage_of_a_month_is_fast() -> None:
    period = engine.period_bounds("2026-03", "Europe/Berlin", date(2020, 1, 1), None)
    assert period is not None
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        engine.coverage(period, "Europe/Berlin", BUSINESS_HOURS)
        best = min(best, time.perf_counter() - started)
    assert best < 0.010


# --------------------------------------------------------------------------------------------
# Probes
# --------------------------------------------------------------------------------------------


def test_eligible_minute_ranges_trim_partial_minutes() -> None:
    covered = [(u(2026, 1, 1, 10, 0, 30), u(2026, 1, 1, 10, 5, 59))]
    assert engine.eligible_minute_ranges(covered) == [(u(2026, 1, 1, 10, 1), u(2026, 1, 1, 10, 5))]
    assert engine.eligible_minute_ranges([(u(2026, 1, 1, 10, 0, 1), u(2026, 1, 1, 10, 1))]) == []


def test_eligible_minute_ranges_merge_touching_intervals_first() -> None:
    covered = [
        (u(2026, 1, 1, 10, 0, 0), u(2026, 1, 1, 10, 1, 30)),
        (u(2026, 1, 1, 10, 1, 30), u(2026, 1, 1, 10, 3, 0)),
    ]
    assert engine.eligible_minute_ranges(covered) == [(u(2026, 1, 1, 10), u(2026, 1, 1, 10, 3))]


@pytest.mark.parametrize(
    ("ok", "failed", "verdict"),
    [(0, 0, None), (1, 0, "up"), (0, 1, "down"), (1, 1, "up"), (2, 3, "down"), (3, 2, "up")],
)
def test_classify_minute(ok: int, failed: int, verdict: str | None) -> None:
    assert engine.classify_minute(ok, failed) == verdict


def test_availability_from_probes() -> None:
    covered = [(u(2026, 1, 1, 10), u(2026, 1, 1, 10, 10))]
    counts = {
        u(2026, 1, 1, 10, 0): (3, 0),
        u(2026, 1, 1, 10, 1): (0, 3),
        u(2026, 1, 1, 10, 2): (1, 1),
        u(2026, 1, 1, 10, 3): (0, 0),
        u(2026, 1, 1, 10, 10): (0, 5),  # outside the covered time
        u(2026, 1, 1, 9, 59): (0, 5),
    }
    figures = engine.availability_from_probes(covered=covered, minute_counts=counts)
    assert near(figures.achieved, Fraction(200, 3))
    assert figures == Figures(
        good=Decimal(2),
        bad=Decimal(1),
        achieved=figures.achieved,
        completeness=Decimal(30),
        eligible=Decimal(10),
    )


def test_availability_from_probes_without_data() -> None:
    covered = [(u(2026, 1, 1, 10), u(2026, 1, 1, 11))]
    figures = engine.availability_from_probes(covered=covered, minute_counts={})
    assert (figures.achieved, figures.completeness, figures.eligible) == (None, 0, 60)
    nothing = engine.availability_from_probes(covered=[], minute_counts={})
    assert (nothing.achieved, nothing.completeness, nothing.eligible) == (None, None, 0)


def test_availability_from_probes_refuses_keys_off_the_minute() -> None:
    with pytest.raises(ValueError, match="minute"):
        engine.availability_from_probes(covered=[], minute_counts={u(2026, 1, 1, 10, 0, 1): (1, 0)})


def test_availability_from_probes_handles_a_month_quickly() -> None:
    period = (u(2026, 3, 1), u(2026, 4, 1))
    counts = {}
    minute = period[0]
    while minute < period[1]:
        counts[minute] = (2, 1) if minute.minute % 7 else (1, 2)
        minute += timedelta(minutes=1)
    started = time.perf_counter()
    figures = engine.availability_from_probes(covered=[period], minute_counts=counts)
    assert time.perf_counter() - started < 1.0
    assert figures.eligible == 44_640
    assert figures.good + figures.bad == 44_640
    assert figures.completeness == 100


# --------------------------------------------------------------------------------------------
# Incidents, latency, ratio
# --------------------------------------------------------------------------------------------


def test_availability_from_incidents_counts_overlaps_once() -> None:
    covered = [(u(2026, 1, 1, 0), u(2026, 1, 1, 10))]
    outages = [
        (u(2026, 1, 1, 1), u(2026, 1, 1, 3)),
        (u(2026, 1, 1, 2), u(2026, 1, 1, 4)),
        (u(2026, 1, 1, 9, 30), None),
    ]
    figures = engine.availability_from_incidents(
        covered=covered, outages=outages, now=u(2026, 1, 1, 9, 45, 0)
    )
    assert figures.bad == Decimal(3 * 3600 + 15 * 60)
    assert figures.good == Decimal(36_000) - figures.bad
    assert figures.eligible == Decimal(36_000)
    assert near(figures.achieved, Fraction(100) * Fraction(figures.good) / 36_000)
    assert figures.completeness is None


def test_availability_from_incidents_keeps_microseconds() -> None:
    covered = [(u(2026, 1, 1, 0), u(2026, 1, 1, 1))]
    start = u(2026, 1, 1, 0, 10)
    outages = [(start, start + timedelta(seconds=1, microseconds=250))]
    figures = engine.availability_from_incidents(covered=covered, outages=outages, now=start)
    assert figures.bad == Decimal("1.000250")
    assert figures.good == Decimal("3598.999750")


def test_availability_from_incidents_without_covered_time() -> None:
    figures = engine.availability_from_incidents(covered=[], outages=[], now=u(2026, 1, 1))
    assert figures.achieved is None
    assert figures.eligible == 0


def test_latency() -> None:
    covered = [(u(2026, 1, 1, 0), u(2026, 1, 1, 1))]
    t = u(2026, 1, 1, 0, 30)
    probes = [
        (t, True, 200),
        (t, True, 200.0000001),
        (t, True, Decimal("199.999")),
        (t, False, 5),  # failed probes do not count
        (t, True, None),  # no measurement
        (t, True, float("nan")),
        (u(2026, 1, 1, 1), True, 10),  # outside the covered time
    ]
    figures = engine.latency(covered=covered, probes=probes, threshold_ms=200)
    assert (figures.good, figures.bad) == (2, 1)
    assert near(figures.achieved, Fraction(200, 3))
    assert engine.latency(covered=covered, probes=[], threshold_ms=200).achieved is None


def test_ratio() -> None:
    covered = [(u(2026, 1, 1, 0), u(2026, 1, 1, 1))]
    events = [
        (u(2026, 1, 1, 0), 90, 100),
        (u(2026, 1, 1, 0, 59, 59), 10, 10),
        (u(2026, 1, 1, 1), 0, 1000),
    ]
    figures = engine.ratio(covered=covered, events=events)
    assert (figures.good, figures.bad, figures.eligible) == (100, 10, 110)
    assert near(figures.achieved, Fraction(10000, 110))
    assert engine.ratio(covered=covered, events=[(u(2026, 1, 1), 0, 0)]).achieved is None


# --------------------------------------------------------------------------------------------
# Tickets
# --------------------------------------------------------------------------------------------


def test_ticket_elapsed_counts_covered_time_only() -> None:
    # Friday 16:00 -> Monday 10:00 in business hours is 1 h + 1 h.
    ticket = Ticket(opened_at=u(2026, 1, 9, 16), end_at=u(2026, 1, 12, 10))
    now = u(2026, 2, 1)
    assert engine.ticket_elapsed(ticket, tz="UTC", calendar=BUSINESS_HOURS, now=now) == hours(2)
    assert engine.ticket_elapsed(ticket, tz="UTC", calendar=None, now=now) == hours(66)


def test_ticket_elapsed_uses_now_while_open_and_zero_for_bad_data() -> None:
    open_ticket = Ticket(opened_at=u(2026, 1, 5, 9), end_at=None)
    assert engine.ticket_elapsed(
        open_ticket, tz="UTC", calendar=None, now=u(2026, 1, 5, 12)
    ) == hours(3)
    backwards = Ticket(opened_at=u(2026, 1, 5, 9), end_at=u(2026, 1, 5, 8))
    assert engine.ticket_elapsed(backwards, tz="UTC", calendar=None, now=u(2026, 2, 1)) == (
        timedelta()
    )


def test_ticket_times_met_breached_pending() -> None:
    opened = u(2026, 1, 5, 9)
    tickets = [
        Ticket(opened_at=opened, end_at=opened + hours(4)),  # met: exactly the threshold
        Ticket(opened_at=opened, end_at=opened + hours(4) + timedelta(microseconds=1)),
        Ticket(opened_at=opened, end_at=None),  # 3 h so far: pending
        Ticket(opened_at=opened - hours(2), end_at=None),  # 5 h so far: breached already
        Ticket(opened_at=opened, end_at=opened - hours(1)),  # data error: met
    ]
    figures = engine.ticket_times(
        tickets=tickets, tz="UTC", calendar=None, threshold=hours(4), now=opened + hours(3)
    )
    assert (figures.good, figures.bad, figures.pending) == (2, 2, 1)
    assert figures.achieved == Decimal(50)
    assert figures.eligible == 4


def test_ticket_times_with_only_pending_tickets_is_no_data() -> None:
    opened = u(2026, 1, 5, 9)
    figures = engine.ticket_times(
        tickets=[Ticket(opened_at=opened, end_at=None)],
        tz="UTC",
        calendar=None,
        threshold=hours(4),
        now=opened,
    )
    assert (figures.achieved, figures.pending) == (None, 1)


# --------------------------------------------------------------------------------------------
# Budget, burn rate, status
# --------------------------------------------------------------------------------------------


def test_error_budget() -> None:
    budget = engine.error_budget(target=Decimal("99.9"), good=Decimal(9990), bad=Decimal(4))
    assert (budget.total, budget.spent, budget.remaining) == (
        Decimal("9.994"),
        Decimal(4),
        Decimal("5.994"),
    )
    assert near(budget.remaining_percent, Fraction(5994 * 100, 9994))


def test_error_budget_overspent_is_negative() -> None:
    budget = engine.error_budget(target=Decimal(99), good=Decimal(90), bad=Decimal(10))
    assert (budget.total, budget.remaining, budget.remaining_percent) == (1, -9, -900)


def test_error_budget_at_target_100_has_no_percent() -> None:
    budget = engine.error_budget(target=Decimal(100), good=Decimal(10), bad=Decimal(0))
    assert (budget.total, budget.remaining, budget.remaining_percent) == (0, 0, None)


def test_burn_rate() -> None:
    assert engine.burn_rate(target=Decimal(99), good=Decimal(0), bad=Decimal(0)) is None
    assert engine.burn_rate(target=Decimal(99), good=Decimal(99), bad=Decimal(1)) == 1
    one_bad_minute = engine.burn_rate(target=Decimal("99.9"), good=Decimal(59), bad=Decimal(1))
    assert near(one_bad_minute, Fraction(1000, 60))
    assert engine.burn_rate(target=Decimal(100), good=Decimal(59), bad=Decimal(1)) == Decimal(
        "Infinity"
    )
    assert engine.burn_rate(target=Decimal(100), good=Decimal(60), bad=Decimal(0)) == 0


def _budget(total: str, spent: str) -> Budget:
    remaining = Decimal(total) - Decimal(spent)
    return Budget(
        total=Decimal(total), spent=Decimal(spent), remaining=remaining, remaining_percent=None
    )


@pytest.mark.parametrize(
    ("achieved", "budget", "burn", "closed", "expected"),
    [
        (None, _budget("10", "0"), None, False, "no_data"),
        (None, _budget("10", "0"), None, True, "no_data"),
        (Decimal("98.9"), _budget("10", "11"), None, False, "breached"),
        (Decimal("98.9"), _budget("10", "11"), None, True, "breached"),
        (Decimal("99.5"), _budget("10", "5"), None, False, "met"),
        (Decimal("99.5"), _budget("10", "7.5"), None, False, "met"),  # exactly 75 %: fine
        (Decimal("99.5"), _budget("10", "7.6"), None, False, "at_risk"),
        (Decimal("99.5"), _budget("10", "7.6"), None, True, "met"),  # closed: never at risk
        (Decimal("99.5"), _budget("10", "1"), Decimal("14.39"), False, "met"),
        (Decimal("99.5"), _budget("10", "1"), Decimal("14.4"), False, "at_risk"),
        (Decimal("99.5"), _budget("10", "1"), Decimal("Infinity"), False, "at_risk"),
        (Decimal("99.5"), _budget("10", "1"), Decimal("14.4"), True, "met"),
        (Decimal(99), _budget("10", "10"), None, False, "at_risk"),  # at target, budget gone
    ],
)
def test_status(
    achieved: Decimal | None, budget: Budget, burn: Decimal | None, closed: bool, expected: str
) -> None:
    assert (
        engine.status(
            achieved=achieved, target=Decimal(99), budget=budget, burn_rate_1h=burn, closed=closed
        )
        == expected
    )


def test_achieved_is_exact_and_ignores_the_callers_decimal_context() -> None:
    with localcontext() as context:
        context.prec = 3
        figures = engine.ratio(
            covered=[(u(2026, 1, 1), u(2026, 1, 2))], events=[(u(2026, 1, 1), 999, 1000)]
        )
        assert figures.achieved == Decimal("99.9")
        third = engine.ratio(
            covered=[(u(2026, 1, 1), u(2026, 1, 2))], events=[(u(2026, 1, 1), 1, 3)]
        )
    assert third.achieved is not None
    assert len(third.achieved.as_tuple().digits) >= 28


# --------------------------------------------------------------------------------------------
# Credits
# --------------------------------------------------------------------------------------------

TIERS = [(Decimal("99.9"), Decimal(10)), (Decimal(99), Decimal(25)), (Decimal(95), Decimal(50))]


@pytest.mark.parametrize(
    ("achieved", "percent"),
    [
        (Decimal("99.95"), 0),
        (Decimal("99.9"), 0),  # exactly at a `below`: that tier does not apply
        (Decimal("99.89"), 10),
        (Decimal(99), 10),
        (Decimal("98.999"), 25),
        (Decimal(95), 25),
        (Decimal("94.9"), 50),
        (Decimal(0), 50),
        (None, 0),
    ],
)
def test_credit_percent(achieved: Decimal | None, percent: int) -> None:
    assert engine.credit_percent(achieved, TIERS) == percent
    # Tier order does not matter.
    assert engine.credit_percent(achieved, list(reversed(TIERS))) == percent


def test_credit_percent_without_tiers() -> None:
    assert engine.credit_percent(Decimal(10), []) == 0


def test_period_credit_sums_and_caps() -> None:
    fee = Decimal("1000.00")
    assert engine.period_credit(
        monthly_fee=fee, percents=[Decimal(10), Decimal(5)], cap_percent=Decimal(30)
    ) == Decimal("150.00")
    assert engine.period_credit(
        monthly_fee=fee, percents=[Decimal(25), Decimal(50)], cap_percent=Decimal(30)
    ) == Decimal("300.00")
    assert engine.period_credit(monthly_fee=fee, percents=[], cap_percent=Decimal(30)) == Decimal(
        "0.00"
    )


def test_period_credit_rounds_half_cents_up() -> None:
    assert engine.period_credit(
        monthly_fee=Decimal("0.05"), percents=[Decimal(10)], cap_percent=Decimal(100)
    ) == Decimal("0.01")
    assert engine.period_credit(
        monthly_fee=Decimal("0.04"), percents=[Decimal(10)], cap_percent=Decimal(100)
    ) == Decimal("0.00")
    assert engine.period_credit(
        monthly_fee=Decimal("123.45"), percents=[Decimal("2.5")], cap_percent=Decimal(100)
    ) == Decimal("3.09")  # 3.08625
