"""Incidents, maintenance and tickets: upserts by external id, with the incident timeline
and the change signals sent after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from metrics import recurrence
from metrics.models import (
    Incident,
    IncidentStatusUpdate,
    IncidentUpdate,
    Maintenance,
    Ticket,
)
from metrics.rows import (
    NOT_STORED,
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
    incident_status_posted,
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
    fields = [f for f in type(rows[0])._fields[UPSERT_FIELDS_START:] if f not in NOT_STORED]
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
        values = {f: getattr(row, f) for f in fields}
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


def _incidents_write(
    rows: Sequence[IncidentRow], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    changed: set[tuple[int, str]] = set()

    def on_change(changes: list[tuple[Incident, dict[str, Any]]], created: set[int]) -> None:
        changed.update((obj.service_id, obj.external_id) for obj, _ in changes)
        _timeline(changes, created)

    result = _upsert(Incident, "service", rows, closed, "incidents", on_change)
    # A record whose fields were stored already but whose timeline grew was accepted.
    result.accepted = len(changed | status_updates_merge(rows=rows))
    result.duplicates = len(rows) - result.accepted
    return result


def status_updates_merge(*, rows: Sequence[IncidentRow]) -> set[tuple[int, str]]:
    """Merge the ``updates`` of incident records into the stored public timelines.

    An update is identified by (incident, at, status): one already stored is kept (its
    message replaced if it changed), a new one is added, and none is ever deleted, so
    updates posted by staff in admin stay. Runs inside the batch's transaction, after
    the incidents are stored. Returns the (service id, external id) of the incidents
    whose timeline gained or changed an update;
    ``incident_status_posted`` is sent after commit for each new update.
    """
    sent = [row for row in rows if row.updates]
    if not sent:
        return set()
    incidents = {
        (i.service_id, i.external_id): i
        for i in Incident.objects.filter(
            service_id__in={row.service_id for row in sent},
            external_id__in={row.external_id for row in sent},
        )
    }
    stored = {
        (u.incident_id, u.at, u.status): u
        for u in IncidentStatusUpdate.objects.filter(
            incident__in=list(incidents.values())
        ).select_for_update()
    }
    creates: list[IncidentStatusUpdate] = []
    changed: list[IncidentStatusUpdate] = []
    touched: set[tuple[int, str]] = set()
    for row in sent:
        incident = incidents[(row.service_id, row.external_id)]
        before = len(creates) + len(changed)
        for update in row.updates or ():
            found = stored.get((incident.pk, update.at, update.status))
            if found is None:
                new = IncidentStatusUpdate(
                    incident=incident, at=update.at, status=update.status, message=update.message
                )
                stored[(incident.pk, update.at, update.status)] = new
                creates.append(new)
            elif found.message != update.message:
                found.message = update.message
                if found.pk is not None and found not in changed:
                    changed.append(found)
        if len(creates) + len(changed) > before:
            touched.add((row.service_id, row.external_id))
    IncidentStatusUpdate.objects.bulk_create(creates)
    IncidentStatusUpdate.objects.bulk_update(changed, ["message"])
    for posted in creates:
        transaction.on_commit(
            partial(incident_status_posted.send, sender=IncidentStatusUpdate, instance=posted)
        )
    return touched


def incidents_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    incidents = _as_rows(rows, IncidentRow)
    return _retrying(_incidents_write, incidents, closed)


def maintenance_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    windows = _as_rows(rows, MaintenanceRow)
    return _retrying(_maintenance_write, windows, closed)


def _maintenance_write(
    rows: Sequence[MaintenanceRow], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    changed: set[tuple[int, str]] = set()

    def on_change(changes: list[tuple[Maintenance, dict[str, Any]]], created: set[int]) -> None:
        changed.update((obj.service_id, obj.external_id) for obj, _ in changes)
        _maintenance_changed(changes, created)

    result = _upsert(Maintenance, "service", rows, closed, "maintenance", on_change)
    sent = {(row.service_id, row.external_id): row for row in rows}
    parents = list(
        Maintenance.objects.select_for_update().filter(
            series=None,
            service_id__in={sid for sid, _ in sent},
            external_id__in={ext for _, ext in sent},
        )
    )
    with_occurrences = set(
        Maintenance.objects.filter(series__in=[p.pk for p in parents]).values_list(
            "series_id", flat=True
        )
    )
    now = timezone.now()
    stamps: list[dt.datetime] = []
    late = 0
    for parent in parents:
        identity = (parent.service_id, parent.external_id)
        if identity not in sent or not (parent.recurrence or parent.pk in with_occurrences):
            continue
        series = series_sync(parent, now=now, closed_until=closed.get(parent.service_id))
        if series.stamps:
            changed.add(identity)
            stamps += series.stamps
            late += series.late
    result.accepted = len(changed)
    result.duplicates = len(rows) - result.accepted
    if stamps:
        assert result.first is not None and result.last is not None
        result.first, result.last = min(result.first, *stamps), max(result.last, *stamps)
        result.late += late
    return result


@dataclass
class SeriesSync:
    """What ``series_sync`` changed: the starts of the occurrences created, changed or
    removed (empty: nothing changed) and how many created ones fall in a closed period."""

    stamps: list[dt.datetime] = field(default_factory=list)
    late: int = 0


def series_sync(
    parent: Maintenance, *, now: dt.datetime, closed_until: dt.datetime | None
) -> SeriesSync:
    """Bring the stored occurrences of the recurring window ``parent`` (its first
    occurrence, ``series`` None) in line with its ``recurrence`` (SPEC §3 rule 3, RFC 5545),
    from its start up to ``metrics.recurrence.HORIZON`` after ``now``. Idempotent.

    Occurrences that have not started (start > now) follow the rule: missing ones are
    created, ones the rule no longer gives are deleted, kept ones take the series' title,
    duration and ``announced_at``. Started ones are left as they were (they happened as
    announced); they are created only when the series has none stored yet, e.g. a rule
    posted after its first occurrence. A window without ``recurrence`` loses its future
    occurrences. A created occurrence before ``closed_until`` is flagged ``late`` and
    logged as a LateArrival for restatement (rule 13), as any late window is.
    ``maintenance_changed`` is sent after commit for each occurrence created or changed.
    Runs inside the caller's transaction.
    """
    stored = {o.start: o for o in Maintenance.objects.select_for_update().filter(series=parent)}
    wanted: list[dt.datetime] = []
    if parent.recurrence:
        wanted = recurrence.starts(
            parent.recurrence,
            start=parent.start,
            limit=now + recurrence.HORIZON,
            most=recurrence.MAX_OCCURRENCES,
        )[1:]
    first_expansion = not stored
    duration = parent.end - parent.start
    out = SeriesSync()
    gone = [o for start, o in stored.items() if start > now and start not in set(wanted)]
    if gone:
        Maintenance.objects.filter(pk__in=[o.pk for o in gone]).delete()
        out.stamps += [o.start for o in gone]
    creates: list[Maintenance] = []
    updates: list[Maintenance] = []
    changes: list[tuple[Maintenance, dict[str, Any]]] = []
    late_rows: list[MaintenanceRow] = []
    for start in wanted:
        values = {
            "title": parent.title,
            "end": start + duration,
            "announced_at": parent.announced_at,
        }
        obj = stored.get(start)
        if obj is None:
            if start <= now and not first_expansion:
                continue  # the past of a changed series stays as it was
            is_late = closed_until is not None and start < closed_until
            obj = Maintenance(
                service_id=parent.service_id,
                series=parent,
                external_id=recurrence.occurrence_id(parent.external_id, start),
                start=start,
                late=is_late,
                **values,
            )
            creates.append(obj)
            changes.append((obj, {"start": _jsonable(start), **_as_json(values)}))
            if is_late:
                late_rows.append(
                    MaintenanceRow(
                        parent.service_id,
                        obj.external_id,
                        parent.title,
                        start,
                        obj.end,
                        parent.announced_at,
                    )
                )
        elif start > now:
            diff = {k: v for k, v in values.items() if getattr(obj, k) != v}
            if diff:
                for k, v in diff.items():
                    setattr(obj, k, v)
                obj.updated_at = timezone.now()
                updates.append(obj)
                changes.append((obj, _as_json(diff)))
    Maintenance.objects.bulk_create(creates)
    if updates:
        Maintenance.objects.bulk_update(updates, ["title", "end", "announced_at", "updated_at"])
    out.stamps += [obj.start for obj, _ in changes]
    out.late = _record_late("maintenance", late_rows, [True] * len(late_rows))
    _maintenance_changed(changes, {id(obj) for obj in creates})
    return out


def _as_json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in values.items()}


def tickets_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    tickets = _as_rows(rows, TicketRow)
    return _retrying(_upsert, Ticket, "customer", tickets, closed, "tickets")
