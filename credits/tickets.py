"""Ticket clocks of an agreement (rule 8): per ticket and ticket objective, its state,
elapsed covered time, whether it is paused and when it is due. Read by the tickets API,
the agreement page's live ticket panel and the due-soon / breached events.

One query reads the customer's tickets; each ticket objective then computes its covered
time once and walks it for all of its tickets (``engine.ticket_clocks``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from agreements import engine
from agreements.engine import Kind
from agreements.models import Agreement
from credits.evaluation import TICKET_KINDS
from credits.recompute import version_in_force
from credits.terms import ObjectiveTerms, Terms, terms_of
from metrics.models import Ticket, pauses_from_json

OPEN, ALL = "open", "all"


def tickets_stamp_key(customer_id: int) -> str:
    """The cache key of a customer's tickets stamp: it changes whenever one of the
    customer's tickets is stored, so what was read from them can be kept until then."""
    return f"tickets-stamp:{customer_id}"


def tickets_changed(customer_ids: Iterable[int]) -> None:
    """Stamp ``customer_ids``' tickets as changed (any batch, delivery or admin edit):
    a new random stamp each time, so two changes in one instant still differ. Stamped now
    and again once the enclosing transaction commits, so a page drawn between the two
    from the tickets as they were is not kept under the new stamp."""
    keys = [tickets_stamp_key(c) for c in customer_ids]

    def stamp() -> None:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=None)

    stamp()
    transaction.on_commit(stamp)


@dataclass(frozen=True)
class TicketLine:
    """One ticket against one ticket objective, as of ``now``."""

    ticket_id: int
    external_id: str
    priority: str
    objective: str
    coverage: str
    threshold: dt.timedelta
    warn_at_percent: int
    opened_at: dt.datetime
    open: bool  # its measured end (first response or resolution) is still missing
    state: str  # "met" | "breached" | "pending"
    elapsed: dt.timedelta
    paused: bool
    due_at: dt.datetime | None

    @property
    def left(self) -> dt.timedelta:
        """Covered time left before the threshold (zero once passed)."""
        return max(dt.timedelta(), self.threshold - self.elapsed)

    @property
    def over(self) -> dt.timedelta:
        """Covered time past the threshold (zero while within it)."""
        return max(dt.timedelta(), self.elapsed - self.threshold)

    @property
    def left_seconds(self) -> float:
        return self.left.total_seconds()

    @property
    def over_seconds(self) -> float:
        return self.over.total_seconds()

    @property
    def due_soon(self) -> bool:
        """At least ``warn_at_percent`` of the threshold has elapsed."""
        return self.elapsed * 100 >= self.threshold * self.warn_at_percent


@dataclass(frozen=True)
class TicketBoard:
    """The live ticket view: open tickets by due time (paused ones last), and the
    period's breached tickets, most over first."""

    period: str
    open: list[TicketLine]
    breached: list[TicketLine]


def ticket_objectives(terms: Terms | None) -> tuple[ObjectiveTerms, ...]:
    return tuple(o for o in terms.objectives if o.kind in TICKET_KINDS) if terms else ()


def terms_for(agreement: Agreement, period: str) -> Terms | None:
    """The terms in force for ``period`` (one query), or None before the first version."""
    version = version_in_force(list(agreement.versions.all()), period)
    return terms_of(version.terms) if version is not None else None


Row = tuple[int, str, str, dt.datetime, dt.datetime | None, dt.datetime | None, list]
_OPEN = Q(first_response_at__isnull=True) | Q(resolved_at__isnull=True)


def ticket_lines(
    *,
    agreement: Agreement,
    terms: Terms,
    now: dt.datetime,
    period: str,
    state: str = OPEN,
    any_period: bool = False,
) -> list[TicketLine]:
    """Every (ticket, ticket objective) pair of the agreement's customer, as of ``now``.

    ``state`` "open": the pairs whose measured end is still missing; "all": every pair.
    Either of a ticket opened in ``period`` (YYYY-MM, local to the terms' zone), or, with
    ``any_period`` (open pairs only), whatever the period.
    A ticket counts under the objective of its current (last sent) priority. One query.
    Ordered by due time (None last), then opening.
    """
    objectives = ticket_objectives(terms)
    bounds = _bounds(period, terms)
    whole = state == OPEN and any_period
    if not objectives or (bounds is None and not whole):
        return []
    which = Q() if whole else Q(opened_at__gte=bounds[0], opened_at__lt=bounds[1])  # type: ignore[index]
    rows = _rows(agreement, which & _OPEN if state == OPEN else which)
    return _lines(objectives, rows, terms.timezone, now, open_only=state == OPEN)


def ticket_board(*, agreement: Agreement, terms: Terms, now: dt.datetime) -> TicketBoard:
    """The live view of the current period: open pairs and the period's breached ones.
    One read of the customer's tickets, whatever their number."""
    period = engine.period_id(now, terms.timezone)
    objectives = ticket_objectives(terms)
    bounds = _bounds(period, terms)
    if not objectives:
        return TicketBoard(period, [], [])
    in_period = Q(opened_at__gte=bounds[0], opened_at__lt=bounds[1]) if bounds else Q(pk=None)
    rows = _rows(agreement, _OPEN | in_period)
    open_lines = _lines(objectives, rows, terms.timezone, now, open_only=True)
    if bounds is None:
        return TicketBoard(period, open_lines, [])
    of_period = [r for r in rows if bounds[0] <= r[3] < bounds[1]]
    breached = [
        line
        for line in _lines(objectives, of_period, terms.timezone, now, open_only=False)
        if line.state == "breached"
    ]
    breached.sort(key=lambda line: (-line.over, line.opened_at, line.external_id))
    return TicketBoard(period, open_lines, breached)


def _rows(agreement: Agreement, which: Q) -> list[Row]:
    return list(
        Ticket.objects.filter(which, customer_id=agreement.customer_id)
        .order_by("opened_at", "id")
        .values_list(
            "id",
            "external_id",
            "priority",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "paused",
        )
    )


def _lines(
    objectives: Sequence[ObjectiveTerms],
    rows: Sequence[Row],
    tz: str,
    now: dt.datetime,
    *,
    open_only: bool,
) -> list[TicketLine]:
    lines: list[TicketLine] = []
    for o in objectives:
        lines += _objective_lines(o, rows, tz, now, open_only=open_only)
    return sorted(lines, key=_by_due)


def _bounds(period: str, terms: Terms) -> tuple[dt.datetime, dt.datetime] | None:
    return engine.period_bounds(period, terms.timezone, terms.effective_from, terms.effective_to)


def _objective_lines(
    o: ObjectiveTerms,
    rows: Sequence[Row],
    tz: str,
    now: dt.datetime,
    *,
    open_only: bool,
) -> list[TicketLine]:
    response = o.kind == Kind.RESPONSE_TIME
    chosen = []
    for row in rows:
        _, _, priority, opened, first, resolved, paused = row
        end = first if response else resolved
        if (o.priority and priority != o.priority) or (open_only and end is not None):
            continue
        chosen.append((row, engine.Ticket(opened, end, pauses_from_json(paused))))
    threshold = o.threshold or dt.timedelta()
    clocks = engine.ticket_clocks(
        tickets=[t for _, t in chosen], threshold=threshold, tz=tz, calendar=o.calendar, now=now
    )
    return [
        TicketLine(
            ticket_id=row[0],
            external_id=row[1],
            priority=row[2],
            objective=o.key,
            coverage=o.coverage,
            threshold=threshold,
            warn_at_percent=o.warn_at_percent,
            opened_at=row[3],
            open=ticket.end_at is None,
            state=clock.state,
            elapsed=clock.elapsed,
            paused=clock.paused,
            due_at=clock.due_at,
        )
        for (row, ticket), clock in zip(chosen, clocks, strict=True)
    ]


def _by_due(line: TicketLine) -> tuple[bool, dt.datetime, dt.datetime, str, str]:
    due = line.due_at or line.opened_at
    return (line.due_at is None, due, line.opened_at, line.external_id, line.objective)
