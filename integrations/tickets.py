"""What the ticketing tools' webhooks share (SPEC §4, Integrations: Jira Service
Management and Zendesk): the customer and priority a ticket is stored under, and how a
status change, a reply and a resolution change the stored ticket.

A translation turns one body into at most one ticket record in the shape of the tickets
ingestion API (SPEC §4: ``{"customer", "external_id", "priority", "opened_at",
"first_response_at", "resolved_at", "paused": [{"from", "to"}]}``), merged with the ticket
as stored, so that each delivery may carry only what changed:

- ``first_response_at`` is kept once set; else it is the time of the first public reply
  by someone other than the requester.
- ``resolved_at`` is what the tool says (a resolution date, or the time the ticket
  entered a solved status); a reopened ticket has none.
- ``paused``: entering a status staff mark as waiting opens a pause at the event's time;
  leaving it closes the pause (rule 8: the clock stands still meanwhile). The same event
  twice, or an event older than the last pause, changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from integrations.payloads import Incident, Translation, instant

# (opened_at, first_response_at, resolved_at, paused) of a stored ticket.
Stored = tuple[dt.datetime, dt.datetime | None, dt.datetime | None, list[list[str | None]]]


@dataclass
class TicketLookup:
    """Our customers and priorities as the tool names them. ``customers`` is the
    ingestion context's (key → id), scoped to what the caller may write; ``stored`` reads
    the ticket already stored for (customer id, external id), or None."""

    customers: dict[str, int]
    mapped_customers: dict[str, str]
    mapped_priorities: dict[str, str]
    waiting: set[str]
    stored: Callable[[int, str], Stored | None]
    now: dt.datetime

    def customer(self, name: str) -> str | None:
        key = self.mapped_customers.get(name, name)
        return key if key in self.customers else None

    def priority(self, name: str) -> str:
        """The mapped priority (matched without regard to case), else the tool's own."""
        lowered = {k.lower(): v for k, v in self.mapped_priorities.items()}
        return lowered.get(name.lower(), name)[:32]

    def unknown(self, what: str, name: object) -> str:
        return (
            f"unknown customer {str(name)[:100]!r} ({what}): no customer has this key and "
            "no mapping of this integration names it"
        )


def ticket(
    out: Translation,
    lookup: TicketLookup,
    *,
    customer: str,
    external_id: str,
    priority: str,
    opened_at: dt.datetime,
    status: str,
    at: dt.datetime,
    response_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    paths: dict[str, str],
) -> Translation:
    """Add the ticket record that results from one event at ``at`` (the ticket now in
    ``status``, perhaps replied to at ``response_at``) merged with the stored ticket."""
    stored = lookup.stored(lookup.customers[customer], external_id)
    first = stored[1] if stored and stored[1] else response_at
    if first is not None and first < opened_at:
        first = opened_at
    pauses = pauses_after(
        stored[3] if stored else [], opened_at, status.lower() in lookup.waiting, at
    )
    record = {
        "customer": customer,
        "external_id": external_id,
        "priority": priority,
        "opened_at": instant(opened_at),
        "first_response_at": instant(first),
        "resolved_at": instant(max(resolved_at, opened_at) if resolved_at else None),
        "paused": pauses,
    }
    out.tickets.append(Incident(0, record, paths))
    return out


def pauses_after(
    stored: list[list[str | None]], opened_at: dt.datetime, waiting: bool, at: dt.datetime
) -> list[dict[str, str | None]]:
    """The pauses ``[{"from", "to"}]`` after an event at ``at`` that finds the ticket in a
    waiting status (``waiting``) or not. An open pause is closed by a non-waiting event
    and a new one opened by a waiting event; an event not after the last pause's bounds
    changes nothing (a repeated or late delivery)."""
    pauses = [{"from": start, "to": end} for start, end in stored]
    last = pauses[-1] if pauses else None
    bound = opened_at
    if last is not None:
        bound = dt.datetime.fromisoformat(str(last["to"] or last["from"]))
    if at < bound or (last is not None and at == bound):
        return pauses
    is_open = last is not None and last["to"] is None
    if waiting and not is_open:
        pauses.append({"from": instant(at), "to": None})
    elif not waiting and is_open and last is not None:
        last["to"] = instant(at)
    return pauses
