"""Incidents, maintenance and tickets: upserts by external id, with the incident timeline
and the change signals sent after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from metrics.models import (
    Incident,
    IncidentUpdate,
    Maintenance,
    Ticket,
)
from metrics.rows import (
    UPSERT_FIELDS_START,
    IncidentRow,
    MaintenanceRow,
    TicketRow,
    UpsertRow,
)
from metrics.services.common import (
    IngestResult,
    _as_rows,
    _record_late,
    _retrying,
)
from metrics.signals import (
    incident_changed,
    maintenance_changed,
)


def _upsert(
    model: Any,
    owner_field: str,
    rows: Sequence[UpsertRow],
    closed: dict[int, dt.datetime | None],
    kind: str,
    on_change: Any = None,
) -> IngestResult:
    # The fields stored are the row's after (owner, external_id), named as on the model.
    fields = list(type(rows[0])._fields[UPSERT_FIELDS_START:])
    # The last record for an identity in a batch wins, as if they had been sent in order.
    latest: dict[tuple[int, str], UpsertRow] = {}
    for row in rows:
        latest[(row.owner, row.external_id)] = row
    owners = {owner for owner, _ in latest}
    stored = {
        (getattr(obj, f"{owner_field}_id"), obj.external_id): obj
        for obj in model.objects.select_for_update().filter(
            **{f"{owner_field}_id__in": owners},
            external_id__in={ext for _, ext in latest},
        )
    }
    creates, updates, changes = [], [], []
    late_rows: list[UpsertRow] = []
    late_flags: list[bool] = []
    for (owner, external_id), row in latest.items():
        values = dict(zip(fields, row[UPSERT_FIELDS_START:], strict=True))
        if values.get("paused", []) is None:
            del values["paused"]  # a ticket sent without pauses keeps the stored ones
        until = closed.get(owner)
        is_late = until is not None and row.at < until
        obj = stored.get((owner, external_id))
        if obj is None:
            obj = model(
                **{f"{owner_field}_id": owner}, external_id=external_id, late=is_late, **values
            )
            creates.append(obj)
            changes.append((obj, {k: _jsonable(v) for k, v in values.items()}))
        else:
            diff = {k: _jsonable(v) for k, v in values.items() if getattr(obj, k) != v}
            if not diff:
                continue
            for k, v in values.items():
                setattr(obj, k, v)
            obj.late = obj.late or is_late
            obj.updated_at = timezone.now()
            updates.append(obj)
            changes.append((obj, diff))
        late_rows.append(row)
        late_flags.append(is_late)
    model.objects.bulk_create(creates)
    if updates:
        model.objects.bulk_update(
            updates, [*fields, "late", "updated_at"] if hasattr(model, "updated_at") else fields
        )
    if on_change is not None:
        on_change(changes, {id(obj) for obj in creates})
    result = IngestResult(accepted=len(changes), duplicates=len(rows) - len(changes))
    if owner_field == "customer":
        result.customer_ids = owners
    else:
        result.service_ids = owners
    stamps = [row.at for row in rows]
    result.first, result.last = min(stamps), max(stamps)
    result.late = _record_late(kind, late_rows, late_flags, customer=owner_field == "customer")
    return result


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _timeline(changes: list[tuple[Incident, dict[str, Any]]], created: set[int]) -> None:
    IncidentUpdate.objects.bulk_create(
        IncidentUpdate(incident=obj, changes=diff) for obj, diff in changes
    )
    _send_after_commit(incident_changed, changes, created)


def _maintenance_changed(
    changes: list[tuple[Maintenance, dict[str, Any]]], created: set[int]
) -> None:
    _send_after_commit(maintenance_changed, changes, created)


def _send_after_commit(
    signal: Any, changes: list[tuple[Any, dict[str, Any]]], created: set[int]
) -> None:
    for obj, diff in changes:
        transaction.on_commit(
            partial(
                signal.send,
                sender=type(obj),
                instance=obj,
                created=id(obj) in created,
                changes=diff,
            )
        )


def incidents_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    incidents = _as_rows(rows, IncidentRow)
    return _retrying(_upsert, Incident, "service", incidents, closed, "incidents", _timeline)


def maintenance_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    windows = _as_rows(rows, MaintenanceRow)
    return _retrying(
        _upsert, Maintenance, "service", windows, closed, "maintenance", _maintenance_changed
    )


def tickets_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    tickets = _as_rows(rows, TicketRow)
    return _retrying(_upsert, Ticket, "customer", tickets, closed, "tickets")
