"""Ticket times (rule 8): elapsed covered time of tickets less their pauses, met / breached /
pending, and when each ticket's threshold is reached (its due time)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .basics import Interval, _percent, _utc
from .indicators import Figures
from .intervals import union
from .periods import Calendar, coverage

# A pause is (start, end); end None while the ticket is still paused (it lasts until now).
Pause = tuple[datetime, datetime | None]

# How far past its opening a due time is looked for: a calendar that covers nothing for this
# long (or a threshold this large) has no due time at all.
_DUE_HORIZON = timedelta(days=3 * 366)
# The first stretch of covered time computed for one ticket's due time; doubled as needed.
_DUE_FIRST_STRETCH = timedelta(days=14)


@dataclass(frozen=True)
class Ticket:
    """A ticket's opening, the end its indicator measures (first response or resolution), and
    the intervals it was paused (e.g. waiting on the customer; an end of None = still paused).
    """

    opened_at: datetime
    end_at: datetime | None
    paused: tuple[Pause, ...] = ()


@dataclass(frozen=True)
class Clock:
    """One ticket against one threshold, as of ``now`` (rule 8).

    ``elapsed``: covered time less pauses from opening to the end (or now); ``state``: "met",
    "breached" or "pending"; ``paused``: an open pause holds the clock at now; ``due_at``: the
    UTC instant the elapsed time reaches the threshold if nothing pauses it further (the
    instant it was reached once reached), None while paused before reaching it.
    """

    ticket: Ticket
    elapsed: timedelta
    state: str
    paused: bool
    due_at: datetime | None


def _holes(ticket: Ticket, now: datetime) -> tuple[list[Interval], datetime | None]:
    """The ticket's closed pauses as sorted UTC intervals (an open one ends at ``now``), and
    the earliest start of an open pause (from there on nothing counts towards a due time)."""
    now = _utc(now)
    holes: list[Interval] = []
    frozen: datetime | None = None
    for start, end in ticket.paused:
        start = _utc(start)
        if end is None:
            frozen = start if frozen is None else min(frozen, start)
            holes.append((start, max(start, now)))
        else:
            holes.append((start, _utc(end)))
    return union(holes), frozen


def _pieces(
    covered: Sequence[Interval], start: datetime, holes: list[Interval]
) -> Iterator[Interval]:
    """Covered instants from ``start`` on, outside ``holes`` (both sorted, disjoint, UTC)."""
    index = bisect_right(covered, start, key=lambda interval: interval[1])
    j = 0
    for lo, hi in covered[index:]:
        cursor = max(lo, start)
        while j < len(holes) and holes[j][1] <= cursor:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] < hi:
            if holes[k][0] > cursor:
                yield cursor, holes[k][0]
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < hi:
            yield cursor, hi


def _walk(
    covered: Sequence[Interval],
    opened: datetime,
    stop: datetime,
    holes: list[Interval],
    threshold: timedelta | None,
) -> tuple[timedelta, datetime | None, bool]:
    """(elapsed from ``opened`` to ``stop``, instant ``threshold`` is reached, whether the
    walk reached both) over ``covered``, which must extend at least to ``stop``."""
    elapsed = timedelta()
    reached = opened if threshold is not None and threshold <= timedelta() else None
    acc = timedelta()
    for lo, hi in _pieces(covered, opened, holes):
        if lo < stop:
            elapsed += min(hi, stop) - lo
        if threshold is not None and reached is None:
            if acc + (hi - lo) >= threshold:
                reached = lo + (threshold - acc)
            acc += hi - lo
        if hi >= stop and (threshold is None or reached is not None):
            return elapsed, reached, True
    return elapsed, reached, False


def ticket_elapsed(
    ticket: Ticket, *, tz: str, calendar: Calendar | None, now: datetime
) -> timedelta:
    """Covered time from opening to the measured end (or ``now`` while it is missing), less
    the ticket's pauses (an open pause lasts until ``now``).

    No period cut and no maintenance apply. An end before the opening is a data error and
    counts as no time at all.
    """
    opened = _utc(ticket.opened_at)
    end = _utc(now if ticket.end_at is None else ticket.end_at)
    if end <= opened:
        return timedelta()
    holes, _ = _holes(ticket, now)
    elapsed, _, _ = _walk(coverage((opened, end), tz, calendar), opened, end, holes, None)
    return elapsed


def due_at(
    ticket: Ticket,
    threshold: timedelta,
    tz: str,
    calendar: Calendar | None,
    now: datetime,
) -> datetime | None:
    """The UTC instant the ticket's elapsed covered time (rule 8) reaches ``threshold``.

    Walks covered time from the opening, leaving out the pauses, and assumes no further pause.
    Once reached it stays the instant it was reached (also for a ticket still unanswered).
    None while an open pause began before the threshold was reached (the ticket is paused),
    or when the calendar covers too little time within three years to reach it.
    """
    opened = _utc(ticket.opened_at)
    holes, frozen = _holes(ticket, now)
    stretch = max(_DUE_FIRST_STRETCH, 2 * threshold)
    while True:
        end = opened + min(stretch, _DUE_HORIZON)
        covered = coverage((opened, end), tz, calendar)
        _, reached, _ = _walk(covered, opened, opened, holes, threshold)
        if reached is not None:
            return None if frozen is not None and reached > frozen else reached
        if frozen is not None and frozen < end:
            return None
        if stretch >= _DUE_HORIZON:
            return None
        stretch *= 2


def _state(ticket: Ticket, elapsed: timedelta, threshold: timedelta) -> str:
    if elapsed > threshold:
        return "breached"
    return "pending" if ticket.end_at is None else "met"


def ticket_clocks(
    *,
    tickets: Sequence[Ticket],
    threshold: timedelta,
    tz: str,
    calendar: Calendar | None,
    now: datetime,
) -> list[Clock]:
    """Every ticket's ``Clock`` against ``threshold``, in the order given (rule 8).

    One pass: covered time is computed once, from the earliest opening to a stretch past
    ``now``, and each ticket walks only its own part of it. A due time beyond that stretch
    falls back to ``due_at``. Results equal ``ticket_elapsed`` and ``due_at`` per ticket.
    """
    if not tickets:
        return []
    now = _utc(now)
    first = min(_utc(t.opened_at) for t in tickets)
    last = max([now, *(_utc(t.end_at) for t in tickets if t.end_at is not None)])
    span_end = max(last, now + max(_DUE_FIRST_STRETCH, 2 * threshold))
    covered = coverage((first, span_end), tz, calendar)
    clocks: list[Clock] = []
    for ticket in tickets:
        opened = _utc(ticket.opened_at)
        stop = _utc(now if ticket.end_at is None else ticket.end_at)
        holes, frozen = _holes(ticket, now)
        elapsed, reached, complete = _walk(covered, opened, max(stop, opened), holes, threshold)
        if stop <= opened:
            elapsed = timedelta()
        if reached is None and not complete and (frozen is None or frozen >= span_end):
            reached = due_at(ticket, threshold, tz, calendar, now)
        if reached is not None and frozen is not None and reached > frozen:
            reached = None
        paused = frozen is not None and frozen <= now
        clocks.append(Clock(ticket, elapsed, _state(ticket, elapsed, threshold), paused, reached))
    return clocks


def _elapsed_all(
    tickets: list[Ticket], tz: str, calendar: Calendar | None, now: datetime
) -> Iterator[tuple[Ticket, timedelta]]:
    """``ticket_elapsed`` of every ticket, with covered time computed once for them all."""
    if not tickets:
        return
    now = _utc(now)
    first = min(_utc(t.opened_at) for t in tickets)
    last = max([now, *(_utc(t.end_at) for t in tickets if t.end_at is not None)])
    covered = coverage((first, last), tz, calendar) if last > first else []
    for ticket in tickets:
        opened = _utc(ticket.opened_at)
        stop = _utc(now if ticket.end_at is None else ticket.end_at)
        if stop <= opened:
            yield ticket, timedelta()
            continue
        holes, _ = _holes(ticket, now)
        elapsed, _, _ = _walk(covered, opened, stop, holes, None)
        yield ticket, elapsed


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
    the period holding each ``opened_at``. Covered time is computed once for all of them.
    """
    met = breached = pending = 0
    for ticket, elapsed in _elapsed_all(list(tickets), tz, calendar, now):
        state = _state(ticket, elapsed, threshold)
        if state == "breached":
            breached += 1
        elif state == "met":
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
