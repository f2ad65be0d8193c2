"""What every writer shares: the result of a batch, retries on races, late arrivals, row
shapes, and the generic summary upsert.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg2.errors import UniqueViolation

from metrics.models import (
    LateArrival,
)
from metrics.rows import (
    EventRow,
    IncidentRow,
    MaintenanceRow,
    ProbeRow,
    Row,
    SampleRow,
    TicketRow,
)
from metrics.signals import (
    measurements_received,
    measurements_stored,
)

# COPY sends timestamps as whole microseconds since the epoch: exact, and several times
# cheaper to write than ISO 8601 text. ``(ts - EPOCH) // MICROSECOND``.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)

RowT = TypeVar("RowT", ProbeRow, EventRow, SampleRow, TicketRow, IncidentRow, MaintenanceRow)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    service_ids: set[int] = field(default_factory=set)
    customer_ids: set[int] = field(default_factory=set)
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    def as_dict(self) -> dict[str, int]:
        body = {"accepted": self.accepted, "duplicates": self.duplicates}
        if self.late:
            body["late"] = self.late
        return body


def minute_of(ts: dt.datetime) -> dt.datetime:
    return ts.replace(second=0, microsecond=0)


def _retrying(write: Any, *args: Any, **kwargs: Any) -> IngestResult:
    # Two concurrent batches may race on a new identity or summary row; the loser's
    # transaction is rolled back whole and tried again, so nothing is lost or doubled.
    for attempt in range(5):
        try:
            with transaction.atomic():
                result: IngestResult = write(*args, **kwargs)
                if result.accepted:
                    measurements_stored.send(sender=IngestResult, result=result)
                return result
        except (IntegrityError, OperationalError) as error:
            transient = (
                isinstance(error, IntegrityError)
                or "deadlock" in str(error).lower()
                or "locked" in str(error).lower()
            )
            if not transient or attempt == 4:
                raise
    raise AssertionError("unreachable")


def _as_rows(rows: Sequence[Any], row_type: type[RowT]) -> list[RowT]:
    """``rows`` as ``row_type``; plain tuples in the field order (scripts, tests) are taken
    too. Rows from ingestion are already of the type and pass through untouched."""
    if rows and type(rows[0]) is not row_type:
        return [row_type(*row) for row in rows]  # trailing fields with defaults may be left out
    return list(rows)


def _late_of(rows: Sequence[Row], closed: dict[int, dt.datetime | None]) -> list[bool]:
    if all(until is None for until in closed.values()):
        return [False] * len(rows)  # no closed period anywhere: the common case
    out = []
    for row in rows:
        until = closed.get(row.owner)
        out.append(until is not None and row.at < until)
    return out


def _record_late(
    kind: str, rows: Sequence[Row], flags: list[bool], *, customer: bool = False
) -> int:
    groups: dict[int, list[dt.datetime]] = defaultdict(list)
    for row, late in zip(rows, flags, strict=True):
        if late:
            groups[row.owner].append(row.at)
    for owner, stamps in groups.items():
        LateArrival.objects.create(
            kind=kind,
            records=len(stamps),
            first_ts=min(stamps),
            last_ts=max(stamps),
            **({"customer_id": owner} if customer else {"service_id": owner}),
        )
    return sum(len(s) for s in groups.values())


def _copy_text(value: Any) -> str:
    """``value`` as a field of PostgreSQL's COPY text format: ``\\N`` for None, t/f for
    booleans, ISO 8601 for datetimes, backslash escapes for the separators."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _stage_and_store(
    *,
    table: str,
    definition: str,
    columns: str,
    buffer: io.StringIO,
    store: str,
    store_skipping: str,
) -> tuple[int, list[list[Any]] | None]:
    """PostgreSQL: copy ``buffer`` (COPY text of ``columns``) into the temporary table
    ``table`` (``definition``: its column list), then run ``store``; when a row is already
    stored (a unique violation), ``store_skipping`` writes the batch again without the
    stored ones. Both statements take ``%(received_at)s`` and return (inserted, late
    groups). The table is created and emptied in one round trip: inside an enclosing
    transaction rows would otherwise linger from an earlier batch. Only model-derived
    names go into the text."""
    params = {"received_at": timezone.now()}
    with connection.cursor() as cursor:
        create = f"CREATE TEMP TABLE IF NOT EXISTS {table} ({definition}) ON COMMIT DELETE ROWS"
        cursor.execute(f"{create}; DELETE FROM {table}")  # noqa: S608 (constant names)
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
        try:
            with transaction.atomic():
                cursor.execute(store, params)
        except IntegrityError as error:
            if not isinstance(error.__cause__, UniqueViolation):
                raise
            cursor.execute(store_skipping, params)
        inserted, late_groups = cursor.fetchone()
    return inserted, late_groups


def _record_late_groups(kind: str, groups: list[list[Any]] | None) -> int:
    """Log late arrivals from ``[[service_id, count, first_ts, last_ts], ...]`` (the
    timestamps ISO 8601 text, as PostgreSQL's json_agg writes them) of the rows actually
    stored: a re-sent duplicate is neither stored nor late. Returns how many were late."""
    late = 0
    for service_id, count, first_ts, last_ts in groups or ():
        LateArrival.objects.create(
            kind=kind,
            records=count,
            first_ts=dt.datetime.fromisoformat(first_ts),
            last_ts=dt.datetime.fromisoformat(last_ts),
            service_id=service_id,
        )
        late += count
    return late


def _announce(kind: str, result: IngestResult) -> None:
    if not result.accepted:
        return
    transaction.on_commit(
        lambda: measurements_received.send(
            sender=kind,
            kind=kind,
            service_ids=sorted(result.service_ids),
            customer_ids=sorted(result.customer_ids),
            first=result.first,
            last=result.last,
            late=result.late,
        )
    )


def _result_of(rows: Sequence[Row], inserted: int, *, customer: bool = False) -> IngestResult:
    result = IngestResult(accepted=inserted, duplicates=len(rows) - inserted)
    owners = {row.owner for row in rows}
    if customer:
        result.customer_ids = owners
    else:
        result.service_ids = owners
    stamps = [row.at for row in rows]
    result.first, result.last = min(stamps), max(stamps)
    return result


def _new_identities(
    model: Any, rows: Sequence[ProbeRow | EventRow], fields: list[str]
) -> list[int]:
    """Indexes of rows whose identity (``fields``, named alike on row and model) is neither
    stored nor repeated earlier in the batch."""
    by_service: dict[int, list[dt.datetime]] = defaultdict(list)
    for row in rows:
        by_service[row.service_id].append(row.ts)
    stored: set[tuple[Any, ...]] = set()
    for sid, stamps in by_service.items():
        stored.update(
            model.objects.filter(
                service_id=sid, ts__gte=min(stamps), ts__lte=max(stamps)
            ).values_list(*fields)
        )
    fresh = []
    for index, row in enumerate(rows):
        identity = tuple(getattr(row, name) for name in fields)
        if identity not in stored:
            stored.add(identity)
            fresh.append(index)
    return fresh


def _add_to(
    model: Any, key_fields: list[str], moves: dict[tuple[Any, ...], dict[str, int]]
) -> None:
    """Add signed deltas to summary rows (created when missing), rows locked meanwhile."""
    if not moves:
        return
    lookup = {f"{name}__in": {key[i] for key in moves} for i, name in enumerate(key_fields)}
    existing = {
        tuple(getattr(row, name) for name in key_fields): row
        for row in model.objects.select_for_update().filter(**lookup)
    }
    creates, updates = [], []
    for key, deltas in moves.items():
        row = existing.get(key)
        if row is None:
            creates.append(model(**dict(zip(key_fields, key, strict=True)), **deltas))
        else:
            for name, delta in deltas.items():
                setattr(row, name, getattr(row, name) + delta)
            updates.append(row)
    model.objects.bulk_create(creates, batch_size=1000)
    if updates:
        model.objects.bulk_update(updates, list(next(iter(moves.values()))), batch_size=1000)
