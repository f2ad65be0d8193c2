"""Ticket times (rule 8): elapsed covered time of tickets, met / breached / pending."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .basics import _percent, _utc
from .indicators import Figures
from .intervals import duration
from .periods import Calendar, coverage


@dataclass(frozen=True)
class Ticket:
    """A ticket's opening and the end its indicator measures (first response or resolution)."""

    opened_at: datetime
    end_at: datetime | None


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
