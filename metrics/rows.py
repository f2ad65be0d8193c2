"""Validated measurement records, one named tuple per kind (SPEC §4 ingestion fields).

Ingestion turns each accepted JSON or CSV record into one of these, with names and ids
resolved; the writers in ``metrics.services`` read them by field name. Each row also says
whose it is (``owner``: a service id, or a customer id for tickets) and the instant that
decides its period (``at``), which is what late-arrival checks need.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple


class ProbeRow(NamedTuple):
    service_id: int
    probe: str  # location name
    ts: dt.datetime
    ok: bool
    latency_ms: float | None  # milliseconds; None when the probe failed without one

    @property
    def owner(self) -> int:
        return self.service_id

    @property
    def at(self) -> dt.datetime:
        return self.ts


class EventRow(NamedTuple):
    service_id: int
    ts: dt.datetime
    good: int
    total: int

    @property
    def owner(self) -> int:
        return self.service_id

    @property
    def at(self) -> dt.datetime:
        return self.ts


class SampleRow(NamedTuple):
    """A sample of a numeric metric (rule 16), its value in the metric's unit."""

    service_id: int
    metric: str
    ts: dt.datetime
    value: Decimal

    @property
    def owner(self) -> int:
        return self.service_id

    @property
    def at(self) -> dt.datetime:
        return self.ts


# Records updated by external id: (owner, external_id) first, then the stored fields, in
# the order the model's fields take them.


class TicketRow(NamedTuple):
    customer_id: int
    external_id: str
    priority: str
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    # [[from, to | None], ...] as ISO 8601 UTC strings; None when the record left it out
    # (the stored pauses stay as they are).
    paused: list[list[str | None]] | None = None

    @property
    def owner(self) -> int:
        return self.customer_id

    @property
    def at(self) -> dt.datetime:
        return self.opened_at


class StatusUpdateRow(NamedTuple):
    """One entry of an incident's public timeline (SPEC §4 ``updates``)."""

    at: dt.datetime
    status: str  # investigating | identified | monitoring | resolved
    message: str


class IncidentRow(NamedTuple):
    service_id: int
    external_id: str
    title: str
    impact: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    # The public timeline sent with the record, merged into the stored one; None when
    # the record has no ``updates`` (the stored timeline stays as it is). Not a column.
    updates: tuple[StatusUpdateRow, ...] | None = None

    @property
    def owner(self) -> int:
        return self.service_id

    @property
    def at(self) -> dt.datetime:
        return self.started_at


class MaintenanceRow(NamedTuple):
    service_id: int
    external_id: str
    title: str
    start: dt.datetime
    end: dt.datetime
    announced_at: dt.datetime
    # The RFC 5545 RRULE of a recurring window ("" for a single window).
    recurrence: str = ""

    @property
    def owner(self) -> int:
        return self.service_id

    @property
    def at(self) -> dt.datetime:
        return self.start


Row = ProbeRow | EventRow | SampleRow | TicketRow | IncidentRow | MaintenanceRow
UpsertRow = TicketRow | IncidentRow | MaintenanceRow

# Fields an upsert stores: everything after (owner, external_id), but these.
UPSERT_FIELDS_START = 2
NOT_STORED = frozenset({"updates"})
