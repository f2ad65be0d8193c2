"""Hand-checked ticket clocks (rule 8): pauses and due times in Berlin business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from agreements import engine
from agreements.engine import Calendar, Ticket

BERLIN = ZoneInfo("Europe/Berlin")
TZ = "Europe/Berlin"
OFFICE = Calendar(weekly=dict.fromkeys(range(5), ((9 * 60, 17 * 60),)))
HOUR = timedelta(hours=1)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_friday_ticket_paused_over_the_weekend_is_due_monday_10_15() -> None:
    ticket = Ticket(
        opened_at=berlin(2026, 11, 20, 16, 30),
        end_at=None,
        paused=((berlin(2026, 11, 20, 16, 45), berlin(2026, 11, 23, 9, 30)),),
    )
    now = berlin(2026, 11, 23, 9, 40)

    due = engine.due_at(ticket, HOUR, TZ, OFFICE, now)

    assert due is not None
    assert due.astimezone(BERLIN) == berlin(2026, 11, 23, 10, 15)
    assert engine.ticket_elapsed(ticket, tz=TZ, calendar=OFFICE, now=now) == timedelta(minutes=25)


def test_the_same_across_the_october_dst_change() -> None:
    # Sunday 25 October 2026 03:00 CEST becomes 02:00 CET: Friday is UTC+2, Monday UTC+1.
    ticket = Ticket(
        opened_at=berlin(2026, 10, 23, 16, 30),
        end_at=None,
        paused=((berlin(2026, 10, 23, 16, 45), berlin(2026, 10, 26, 9, 30)),),
    )
    now = berlin(2026, 10, 26, 9, 40)

    due = engine.due_at(ticket, HOUR, TZ, OFFICE, now)

    assert due == datetime(2026, 10, 26, 9, 15, tzinfo=UTC)
    assert berlin(2026, 10, 23, 16, 30).utcoffset() == 2 * HOUR


def test_an_open_pause_before_the_threshold_is_neither_breached_nor_due() -> None:
    ticket = Ticket(
        opened_at=berlin(2026, 11, 20, 10, 0),
        end_at=None,
        paused=((berlin(2026, 11, 20, 10, 30), None),),
    )
    now = berlin(2026, 11, 25, 12, 0)

    (clock,) = engine.ticket_clocks(
        tickets=[ticket], threshold=HOUR, tz=TZ, calendar=OFFICE, now=now
    )

    assert (clock.state, clock.paused, clock.due_at) == ("pending", True, None)
    assert clock.elapsed == timedelta(minutes=30)
    figures = engine.ticket_times(tickets=[ticket], tz=TZ, calendar=OFFICE, threshold=HOUR, now=now)
    assert (figures.good, figures.bad, figures.pending) == (0, 0, 1)


def test_a_ticket_paused_after_its_breach_stays_breached() -> None:
    ticket = Ticket(
        opened_at=berlin(2026, 11, 20, 10, 0),
        end_at=None,
        paused=((berlin(2026, 11, 20, 11, 30), None),),
    )

    (clock,) = engine.ticket_clocks(
        tickets=[ticket], threshold=HOUR, tz=TZ, calendar=OFFICE, now=berlin(2026, 11, 24, 9, 0)
    )

    assert (clock.state, clock.paused) == ("breached", True)
    assert clock.due_at == berlin(2026, 11, 20, 11, 0)


def test_an_unanswered_ticket_past_its_threshold_keeps_the_instant_it_was_reached() -> None:
    ticket = Ticket(opened_at=berlin(2026, 11, 20, 16, 30), end_at=None)
    now = berlin(2026, 11, 24, 15, 0)

    (clock,) = engine.ticket_clocks(
        tickets=[ticket], threshold=HOUR, tz=TZ, calendar=OFFICE, now=now
    )

    assert clock.state == "breached"
    assert clock.due_at == berlin(2026, 11, 23, 9, 30)
    assert engine.due_at(ticket, HOUR, TZ, OFFICE, now) == clock.due_at


def test_a_due_time_beyond_the_batch_stretch_is_still_found() -> None:
    # 200 business hours is five weeks of 09-17 weekdays: past the first computed stretch.
    ticket = Ticket(opened_at=berlin(2026, 11, 2, 9, 0), end_at=None)
    now = berlin(2026, 11, 2, 9, 0)

    (clock,) = engine.ticket_clocks(
        tickets=[ticket], threshold=200 * HOUR, tz=TZ, calendar=OFFICE, now=now
    )

    assert clock.due_at == berlin(2026, 12, 4, 17, 0)
