"""Named traps of the SLA rules (SPEC §3): daylight saving, odd zones, boundaries, exactness."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from agreements import engine
from agreements.engine import Calendar, Maintenance, Ticket

LONG_AGO = date(1980, 1, 1)


def u(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def covered_length(window: tuple[datetime, datetime], tz: str, calendar: Calendar) -> timedelta:
    return engine.duration(engine.coverage(window, tz, calendar))


# --------------------------------------------------------------------------------------------
# Daylight saving
# --------------------------------------------------------------------------------------------


def test_berlin_dst_end_sunday_night_range_is_seven_hours() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 00:00-06:00 lasts 7 real hours.
    sunday_night = Calendar(weekly={6: ((0, 6 * 60),)})
    window = (u(2026, 10, 20), u(2026, 10, 30))
    assert engine.coverage(window, "Europe/Berlin", sunday_night) == [
        (u(2026, 10, 24, 22), u(2026, 10, 25, 5))
    ]


def test_berlin_dst_end_repeated_hour_is_covered_twice() -> None:
    two_to_three = Calendar(weekly={6: ((2 * 60, 3 * 60),)})
    window = (u(2026, 10, 24), u(2026, 10, 26))
    # 02:00-03:00 CEST (00:00-01:00 UTC) and again 02:00-03:00 CET (01:00-02:00 UTC).
    assert engine.coverage(window, "Europe/Berlin", two_to_three) == [
        (u(2026, 10, 25, 0), u(2026, 10, 25, 2))
    ]


def test_berlin_dst_start_sunday_night_range_is_five_hours() -> None:
    sunday_night = Calendar(weekly={6: ((0, 6 * 60),)})
    window = (u(2026, 3, 27), u(2026, 3, 31))
    assert covered_length(window, "Europe/Berlin", sunday_night) == hours(5)


def test_new_york_dst_end_on_2026_11_01() -> None:
    sunday_night = Calendar(weekly={6: ((0, 6 * 60),)})
    window = (u(2026, 10, 31), u(2026, 11, 3))
    assert engine.coverage(window, "America/New_York", sunday_night) == [
        (u(2026, 11, 1, 4), u(2026, 11, 1, 11))
    ]
    one_to_two = Calendar(weekly={6: ((60, 120),)})
    assert covered_length(window, "America/New_York", one_to_two) == hours(2)


def test_new_york_spring_forward_gap_covers_nothing() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT; the 02:00-03:00 wall-clock hour never happens.
    two_to_three = Calendar(weekly={6: ((120, 180),)})
    window = (u(2026, 3, 7), u(2026, 3, 10))
    assert engine.coverage(window, "America/New_York", two_to_three) == []


def test_lord_howe_half_hour_dst() -> None:
    # 2026-10-04 02:00 +10:30 jumps to 02:30 +11:00: the Sunday 00:00-06:00 range loses 30 min.
    sunday_night = Calendar(weekly={6: ((0, 6 * 60),)})
    window = (u(2026, 10, 1), u(2026, 10, 6))
    assert covered_length(window, "Australia/Lord_Howe", sunday_night) == hours(5.5)
    # 2026-04-05 02:00 +11:00 falls back to 01:30 +10:30: it gains 30 min.
    window = (u(2026, 4, 2), u(2026, 4, 7))
    assert covered_length(window, "Australia/Lord_Howe", sunday_night) == hours(6.5)


def test_chatham_quarter_hour_offsets() -> None:
    # Chatham is UTC+13:45 in January: a 09:00-17:00 day starts at 19:15 UTC the day before.
    monday = Calendar(weekly={0: ((9 * 60, 17 * 60),)})
    window = (u(2026, 1, 1), u(2026, 1, 8))
    assert engine.coverage(window, "Pacific/Chatham", monday) == [
        (u(2026, 1, 4, 19, 15), u(2026, 1, 5, 3, 15))
    ]


def test_kathmandu_quarter_hour_offset_period() -> None:
    assert engine.period_bounds("2026-01", "Asia/Kathmandu", LONG_AGO, None) == (
        u(2025, 12, 31, 18, 15),
        u(2026, 1, 31, 18, 15),
    )


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


def test_kolkata_period_2026_03_starts_on_28_february_at_1830_utc() -> None:
    assert engine.period_bounds("2026-03", "Asia/Kolkata", LONG_AGO, None) == (
        u(2026, 2, 28, 18, 30),
        u(2026, 3, 31, 18, 30),
    )
    assert engine.period_id(u(2026, 2, 28, 18, 30), "Asia/Kolkata") == "2026-03"
    assert engine.period_id(u(2026, 2, 28, 18, 29, 59), "Asia/Kolkata") == "2026-02"


def test_agreement_starting_mid_month_cuts_the_period() -> None:
    assert engine.period_bounds("2026-03", "Europe/Berlin", date(2026, 3, 15), None) == (
        u(2026, 3, 14, 23),
        u(2026, 3, 31, 22),
    )
    assert engine.period_bounds("2026-02", "Europe/Berlin", date(2026, 3, 15), None) is None


def test_agreement_ending_mid_month_includes_its_last_day() -> None:
    assert engine.period_bounds(
        "2026-03", "Europe/Berlin", date(2026, 1, 1), date(2026, 3, 29)
    ) == (u(2026, 2, 28, 23), u(2026, 3, 29, 22))


def test_havana_month_starting_in_a_midnight_gap() -> None:
    # 2012-04-01 00:00 Havana did not exist (clocks went to 01:00): April starts at 05:00 UTC.
    assert engine.period_bounds("2012-04", "America/Havana", LONG_AGO, None) == (
        u(2012, 4, 1, 5),
        u(2012, 5, 1, 4),
    )


def test_santiago_day_starting_in_a_midnight_gap() -> None:
    # 2026-09-06: Saturday 24:00 becomes Sunday 01:00, so Sunday starts at 04:00 UTC.
    assert engine.period_bounds("2026-09", "America/Santiago", date(2026, 9, 6), None) == (
        u(2026, 9, 6, 4),
        u(2026, 10, 1, 3),
    )
    sunday = Calendar(weekly={6: ((0, 1440),)})
    window = (u(2026, 9, 5), u(2026, 9, 8))
    assert engine.coverage(window, "America/Santiago", sunday) == [
        (u(2026, 9, 6, 4), u(2026, 9, 7, 3))
    ]


def test_beirut_month_starting_in_a_midnight_gap() -> None:
    assert engine.period_bounds("1991-05", "Asia/Beirut", LONG_AGO, None) == (
        u(1991, 4, 30, 22),
        u(1991, 5, 31, 21),
    )


def test_a_skipped_local_date_leaves_nothing() -> None:
    # Samoa skipped 2011-12-30 when it moved across the date line.
    assert (
        engine.period_bounds("2011-12", "Pacific/Apia", date(2011, 12, 30), date(2011, 12, 30))
        is None
    )


# --------------------------------------------------------------------------------------------
# Maintenance and probes
# --------------------------------------------------------------------------------------------


def test_maintenance_starting_at_30_seconds_leaves_partial_minutes_ineligible() -> None:
    period = (u(2026, 1, 5, 10), u(2026, 1, 5, 11))
    window = Maintenance(
        start=u(2026, 1, 5, 10, 20, 30),
        end=u(2026, 1, 5, 10, 25, 30),
        announced_at=u(2026, 1, 1),
    )
    covered = engine.covered_time(
        period=period, tz="UTC", calendar=None, maintenance=[window], notice_hours=48
    )
    assert engine.eligible_minute_ranges(covered) == [
        (u(2026, 1, 5, 10), u(2026, 1, 5, 10, 20)),
        (u(2026, 1, 5, 10, 26), u(2026, 1, 5, 11)),
    ]
    # Every probe failed in the two partial minutes: neither counts as down.
    counts = {u(2026, 1, 5, 10, 20): (0, 4), u(2026, 1, 5, 10, 25): (0, 4)}
    counts |= {u(2026, 1, 5, 10, m): (4, 0) for m in (0, 19, 26, 59)}
    figures = engine.availability_from_probes(covered=covered, minute_counts=counts)
    assert (figures.good, figures.bad, figures.eligible) == (4, 0, 54)
    assert figures.achieved == 100


def test_maintenance_announced_exactly_notice_hours_before_is_excluded() -> None:
    start = u(2026, 1, 5, 2)
    window = Maintenance(start=start, end=start + hours(1), announced_at=start - hours(48))
    assert engine.maintenance_exclusions([window], 48) == [(start, start + hours(1))]


def test_maintenance_announced_one_second_late_is_ordinary_time() -> None:
    start = u(2026, 1, 5, 2)
    late = Maintenance(
        start=start,
        end=start + hours(1),
        announced_at=start - hours(48) + timedelta(seconds=1),
    )
    assert engine.maintenance_exclusions([late], 48) == []
    period = (u(2026, 1, 5), u(2026, 1, 6))
    covered = engine.covered_time(
        period=period, tz="UTC", calendar=None, maintenance=[late], notice_hours=48
    )
    assert covered == [period]
    down_in_window = {start + timedelta(minutes=5): (0, 3)}
    figures = engine.availability_from_probes(covered=covered, minute_counts=down_in_window)
    assert figures.bad == 1


def test_tie_minute_is_up() -> None:
    minute = u(2026, 1, 5, 10)
    assert engine.classify_minute(1, 1) == "up"
    figures = engine.availability_from_probes(
        covered=[(minute, minute + timedelta(minutes=1))], minute_counts={minute: (1, 1)}
    )
    assert (figures.good, figures.bad) == (1, 0)


def test_probe_results_from_several_locations_are_judged_together() -> None:
    # Two locations: 2 ok + 1 failed and 0 ok + 2 failed sum to 2 ok, 3 failed: down.
    assert engine.classify_minute(2 + 0, 1 + 2) == "down"


# --------------------------------------------------------------------------------------------
# Incidents and tickets
# --------------------------------------------------------------------------------------------


def test_incident_crossing_the_period_start_counts_only_inside_the_period() -> None:
    period = engine.period_bounds("2026-03", "UTC", LONG_AGO, None)
    assert period is not None
    covered = engine.covered_time(
        period=period, tz="UTC", calendar=None, maintenance=[], notice_hours=0
    )
    outage = (u(2026, 2, 28, 22), u(2026, 3, 1, 1))
    figures = engine.availability_from_incidents(
        covered=covered, outages=[outage], now=u(2026, 4, 2)
    )
    assert figures.bad == 3600
    assert figures.good == 31 * 86400 - 3600


def test_unresolved_incident_lasts_until_now() -> None:
    covered = [(u(2026, 3, 1), u(2026, 3, 2))]
    figures = engine.availability_from_incidents(
        covered=covered, outages=[(u(2026, 3, 1, 12), None)], now=u(2026, 3, 1, 12, 30)
    )
    assert figures.bad == 1800


def test_degraded_incidents_are_left_to_the_caller() -> None:
    # Only outage spans are passed in; with none, nothing is down.
    covered = [(u(2026, 3, 1), u(2026, 3, 2))]
    figures = engine.availability_from_incidents(covered=covered, outages=[], now=u(2026, 3, 3))
    assert figures.achieved == 100


def test_ticket_opened_in_one_period_and_answered_in_the_next() -> None:
    business = Calendar(weekly=dict.fromkeys(range(5), ((9 * 60, 17 * 60),)))
    # Tuesday 2026-03-31 16:00 Berlin (CEST) to Wednesday 2026-04-01 10:00: 1 h + 1 h.
    ticket = Ticket(opened_at=u(2026, 3, 31, 14), end_at=u(2026, 4, 1, 8))
    assert engine.period_id(ticket.opened_at, "Europe/Berlin") == "2026-03"
    elapsed = engine.ticket_elapsed(
        ticket, tz="Europe/Berlin", calendar=business, now=u(2026, 5, 1)
    )
    assert elapsed == hours(2)
    figures = engine.ticket_times(
        tickets=[ticket],
        tz="Europe/Berlin",
        calendar=business,
        threshold=hours(2),
        now=u(2026, 5, 1),
    )
    assert (figures.good, figures.bad) == (1, 0)


def test_open_ticket_turns_breached_once_covered_time_passes_the_threshold() -> None:
    business = Calendar(weekly=dict.fromkeys(range(5), ((9 * 60, 17 * 60),)))
    ticket = Ticket(opened_at=u(2026, 1, 9, 15), end_at=None)  # Friday 15:00 UTC
    kwargs = {"tz": "UTC", "calendar": business, "threshold": hours(4)}
    # Over the weekend only 2 h of business time have passed: still pending.
    pending = engine.ticket_times(tickets=[ticket], now=u(2026, 1, 11, 23), **kwargs)
    assert (pending.pending, pending.bad, pending.achieved) == (1, 0, None)
    breached = engine.ticket_times(tickets=[ticket], now=u(2026, 1, 12, 11, 0, 1), **kwargs)
    assert (breached.pending, breached.bad, breached.achieved) == (0, 1, 0)


def test_tickets_ignore_maintenance_and_period_cuts() -> None:
    ticket = Ticket(opened_at=u(2026, 3, 31, 23), end_at=u(2026, 4, 1, 1))
    assert engine.ticket_elapsed(ticket, tz="UTC", calendar=None, now=u(2026, 5, 1)) == hours(2)


# --------------------------------------------------------------------------------------------
# Exactness and credits
# --------------------------------------------------------------------------------------------


def test_achieved_exactly_equal_to_target_is_met() -> None:
    covered = [(u(2026, 3, 1), u(2026, 4, 1))]
    figures = engine.ratio(covered=covered, events=[(u(2026, 3, 2), 999, 1000)])
    target = Decimal("99.9")
    assert figures.achieved == target
    budget = engine.error_budget(target=target, good=figures.good, bad=figures.bad)
    assert budget.remaining == 0
    assert (
        engine.status(
            achieved=figures.achieved, target=target, budget=budget, burn_rate_1h=None, closed=True
        )
        == "met"
    )
    # A credit tier "below 99.9" does not apply to exactly 99.9.
    assert engine.credit_percent(figures.achieved, [(Decimal("99.9"), Decimal(10))]) == 0


def test_achieved_exactly_at_target_from_probes() -> None:
    start = u(2026, 3, 1)
    counts = {start + timedelta(minutes=m): (1, 0) for m in range(999)}
    counts[start + timedelta(minutes=999)] = (0, 1)
    figures = engine.availability_from_probes(
        covered=[(start, start + timedelta(minutes=1000))], minute_counts=counts
    )
    assert figures.achieved == Decimal("99.9")


def test_half_cent_credit_rounds_up() -> None:
    assert engine.period_credit(
        monthly_fee=Decimal("0.05"), percents=[Decimal(10)], cap_percent=Decimal(50)
    ) == Decimal("0.01")


def test_credit_cap_binds() -> None:
    assert engine.period_credit(
        monthly_fee=Decimal("999.99"),
        percents=[Decimal(25), Decimal(25)],
        cap_percent=Decimal("33.3"),
    ) == Decimal("333.00")  # 332.996667 rounded
