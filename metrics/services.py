"""Bulk writes of measurements and of the summaries kept beside them.

Probes and events are append-only: a record whose identity is already stored is a
duplicate and changes nothing. Summaries (per service and UTC minute, and per UTC day
for probes) are updated in the same transaction from the rows actually inserted, so
they always equal a recount of the raw rows.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg2.errors import UniqueViolation

from agreements.engine import MinuteState, classify_minute, minute_state_sql
from metrics.limits import MAX_MINUTE_TOTAL, MinuteTotalExceeded
from metrics.models import (
    EventCount,
    EventMinute,
    Incident,
    IncidentUpdate,
    IngestionBatch,
    LateArrival,
    LatencyThreshold,
    Maintenance,
    ProbeDay,
    ProbeHour,
    ProbeLatencyDay,
    ProbeLatencyHour,
    ProbeMinute,
    ProbeResult,
    Ticket,
)
from metrics.rows import (
    UPSERT_FIELDS_START,
    EventRow,
    IncidentRow,
    MaintenanceRow,
    ProbeRow,
    Row,
    TicketRow,
    UpsertRow,
)
from metrics.signals import (
    incident_changed,
    maintenance_changed,
    measurements_received,
    measurements_stored,
)

UTC = dt.UTC
RowT = TypeVar("RowT", ProbeRow, EventRow, TicketRow, IncidentRow, MaintenanceRow)
UP, DOWN = MinuteState.UP, MinuteState.DOWN


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
        return [row_type._make(row) for row in rows]
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


# Probes -----------------------------------------------------------------------------


def probes_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    """Store probe results; ``closed`` maps service id to the end of its closed periods."""
    probes = _as_rows(rows, ProbeRow)
    late = _late_of(probes, closed)
    if connection.vendor == "postgresql":
        result = _retrying(_probes_postgresql, probes, late)
    else:
        result = _retrying(_probes_generic, probes, late)
    return result


def _copy_text(value: Any) -> str:
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


# The batch's raw rows and every summary level are written by one statement. The
# variant without ON CONFLICT is tried first: a batch of new rows (the usual case) then
# costs a plain insert, which is much cheaper than one that checks each row for a
# conflict. If any row is already stored the attempt fails as a whole and the batch is
# written again with the conflict handling, which skips and counts the duplicates.
_PROBE_INSERT = """
    INSERT INTO metrics_proberesult (service_id, probe, ts, ok, latency_ms, late, received_at)
    SELECT service_id, probe, 'epoch'::timestamptz + ts_us * interval '1 microsecond',
           ok, latency_ms, late, %(received_at)s
    FROM metrics_probe_stage
    RETURNING service_id, ts, ok, latency_ms, late
"""
_PROBE_INSERT_SKIPPING_DUPLICATES = """
    INSERT INTO metrics_proberesult (service_id, probe, ts, ok, latency_ms, late, received_at)
    SELECT DISTINCT ON (service_id, ts_us, probe) service_id, probe,
           'epoch'::timestamptz + ts_us * interval '1 microsecond',
           ok, latency_ms, late, %(received_at)s
    FROM metrics_probe_stage ORDER BY service_id, ts_us, probe
    ON CONFLICT (service_id, ts, probe) DO NOTHING
    RETURNING service_id, ts, ok, latency_ms, late
"""
_PROBE_SUMMARIES = """
WITH ins AS ({insert}
), latency AS (
    -- Per day and registered threshold: how many successful probes were fast enough.
    INSERT INTO metrics_probelatencyday (service_id, day, threshold_ms, fast, total)
    SELECT i.service_id, (i.ts AT TIME ZONE 'UTC')::date, t.threshold_ms,
           count(*) FILTER (WHERE i.latency_ms <= t.threshold_ms), count(*)
    FROM ins i JOIN metrics_latencythreshold t ON t.service_id = i.service_id
    WHERE i.ok AND i.latency_ms IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (service_id, day, threshold_ms) DO UPDATE
        SET fast = metrics_probelatencyday.fast + EXCLUDED.fast,
            total = metrics_probelatencyday.total + EXCLUDED.total
    RETURNING 1
), latency_hours AS (
    INSERT INTO metrics_probelatencyhour (service_id, hour, threshold_ms, fast, total)
    SELECT i.service_id, date_trunc('hour', i.ts), t.threshold_ms,
           count(*) FILTER (WHERE i.latency_ms <= t.threshold_ms), count(*)
    FROM ins i JOIN metrics_latencythreshold t ON t.service_id = i.service_id
    WHERE i.ok AND i.latency_ms IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (service_id, hour, threshold_ms) DO UPDATE
        SET fast = metrics_probelatencyhour.fast + EXCLUDED.fast,
            total = metrics_probelatencyhour.total + EXCLUDED.total
    RETURNING 1
), added AS (
    SELECT service_id, date_trunc('minute', ts) AS minute,
           count(*) FILTER (WHERE ok) AS ok, count(*) FILTER (WHERE NOT ok) AS failed
    FROM ins GROUP BY 1, 2
), {minutes}
), moves AS (
    -- The minute's state before this batch is its new counts minus what the batch added;
    -- the day summary moves by the difference, so concurrent batches add up exactly.
    SELECT m.service_id, (m.minute AT TIME ZONE 'UTC')::date AS day, date_trunc('hour', m.minute) AS hour,
           m.ok AS n_ok, m.failed AS n_failed,
           m.ok - a.ok AS o_ok, m.failed - a.failed AS o_failed, a.ok AS a_ok, a.failed AS a_failed
    FROM minutes m JOIN added a USING (service_id, minute)
), days AS (
    INSERT INTO metrics_probeday (service_id, day, up, down, probes_ok, probes_failed)
    SELECT service_id, day,
        sum({up_now}::int - {up_before}::int),
        sum({down_now}::int - {down_before}::int),
        sum(a_ok), sum(a_failed)
    FROM moves GROUP BY service_id, day ORDER BY service_id, day
    ON CONFLICT (service_id, day) DO UPDATE
        SET up = metrics_probeday.up + EXCLUDED.up, down = metrics_probeday.down + EXCLUDED.down,
            probes_ok = metrics_probeday.probes_ok + EXCLUDED.probes_ok,
            probes_failed = metrics_probeday.probes_failed + EXCLUDED.probes_failed
    RETURNING 1
), hours AS (
    INSERT INTO metrics_probehour (service_id, hour, up, down)
    SELECT service_id, hour,
        sum({up_now}::int - {up_before}::int),
        sum({down_now}::int - {down_before}::int)
    FROM moves GROUP BY service_id, hour ORDER BY service_id, hour
    ON CONFLICT (service_id, hour) DO UPDATE
        SET up = metrics_probehour.up + EXCLUDED.up, down = metrics_probehour.down + EXCLUDED.down
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins),
       (SELECT json_agg(json_build_array(service_id, n, first_ts, last_ts)) FROM (
            SELECT service_id, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts
            FROM ins WHERE late GROUP BY service_id) AS late_rows)
"""
_MINUTES_UPSERT = """minutes AS (
    INSERT INTO metrics_probeminute (service_id, minute, ok, failed)
    SELECT service_id, minute, ok, failed FROM added ORDER BY service_id, minute
    ON CONFLICT (service_id, minute) DO UPDATE
        SET ok = metrics_probeminute.ok + EXCLUDED.ok,
            failed = metrics_probeminute.failed + EXCLUDED.failed
    RETURNING service_id, minute, ok, failed"""
# Rule 4 (a minute's verdict) before and after the batch, as SQL built from its one home.
_UP_NOW, _DOWN_NOW = minute_state_sql("n_ok", "n_failed")
_UP_BEFORE, _DOWN_BEFORE = minute_state_sql("o_ok", "o_failed")
_PROBE_UPSERT, _PROBE_UPSERT_SKIPPING_DUPLICATES = (
    _PROBE_SUMMARIES.format(
        insert=insert,
        minutes=_MINUTES_UPSERT,
        up_now=_UP_NOW,
        up_before=_UP_BEFORE,
        down_now=_DOWN_NOW,
        down_before=_DOWN_BEFORE,
    )
    for insert in (_PROBE_INSERT, _PROBE_INSERT_SKIPPING_DUPLICATES)
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _probes_postgresql(rows: list[ProbeRow], late: list[bool]) -> IngestResult:
    # Timestamps travel as whole microseconds since the epoch: exact, and several times
    # cheaper to write than ISO 8601 text. Probe names repeat, so each is escaped once.
    buffer = io.StringIO()
    write = buffer.write
    null = "\\N"
    probes: dict[str, str] = {}
    for (sid, probe, ts, ok, latency), is_late in zip(rows, late, strict=True):
        name = probes.get(probe)
        if name is None:
            name = probes[probe] = _copy_text(probe)
        write(
            f"{sid}\t{name}\t{(ts - _EPOCH) // _MICROSECOND}\t{'t' if ok else 'f'}\t"
            f"{null if latency is None else repr(latency)}\t{'t' if is_late else 'f'}\n"
        )
    buffer.seek(0)
    params = {"received_at": timezone.now()}
    with connection.cursor() as cursor:
        # One round trip; the table is emptied first as well because inside an enclosing
        # transaction rows would otherwise linger from an earlier batch.
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS metrics_probe_stage (service_id bigint, "
            "probe text, ts_us bigint, ok boolean, latency_ms double precision, late boolean) "
            "ON COMMIT DELETE ROWS; DELETE FROM metrics_probe_stage"
        )
        cursor.copy_expert(
            "COPY metrics_probe_stage (service_id, probe, ts_us, ok, latency_ms, late) FROM STDIN",
            buffer,
        )
        try:
            with transaction.atomic():
                cursor.execute(_PROBE_UPSERT, params)
        except IntegrityError as error:
            if not isinstance(error.__cause__, UniqueViolation):
                raise
            cursor.execute(_PROBE_UPSERT_SKIPPING_DUPLICATES, params)
        inserted, late_groups = cursor.fetchone()
    result = _result_of(rows, inserted)
    # Only the late rows actually stored (a re-sent duplicate is neither stored nor late).
    for service_id, count, first_ts, last_ts in late_groups or ():
        LateArrival.objects.create(
            kind="probes",
            records=count,
            first_ts=dt.datetime.fromisoformat(first_ts),
            last_ts=dt.datetime.fromisoformat(last_ts),
            service_id=service_id,
        )
        result.late += count
    return result


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


def _probes_generic(rows: list[ProbeRow], late: list[bool]) -> IngestResult:
    fresh = _new_identities(ProbeResult, rows, ["service_id", "probe", "ts"])
    fresh_rows = [rows[i] for i in fresh]
    now = timezone.now()
    ProbeResult.objects.bulk_create(
        [
            ProbeResult(**rows[i]._asdict(), late=late[i], received_at=now)  # type: ignore[misc]
            for i in fresh
        ],
        batch_size=1000,
    )
    added: dict[tuple[int, dt.datetime], list[int]] = defaultdict(lambda: [0, 0])
    for row in fresh_rows:
        counts = added[(row.service_id, minute_of(row.ts))]
        counts[0 if row.ok else 1] += 1
    _apply_probe_summaries(added)
    _apply_latency_summaries(fresh_rows)
    result = _result_of(rows, len(fresh))
    result.late = _record_late("probes", fresh_rows, [late[i] for i in fresh])
    return result


def _apply_probe_summaries(added: dict[tuple[int, dt.datetime], list[int]]) -> None:
    if not added:
        return
    existing: dict[tuple[int, dt.datetime], ProbeMinute] = {}
    by_service: dict[int, list[dt.datetime]] = defaultdict(list)
    for sid, minute in added:
        by_service[sid].append(minute)
    for sid, minutes in by_service.items():
        for row in ProbeMinute.objects.select_for_update().filter(
            service_id=sid, minute__gte=min(minutes), minute__lte=max(minutes)
        ):
            existing[(row.service_id, row.minute)] = row
    day_moves: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    hour_moves: dict[tuple[int, dt.datetime], list[int]] = defaultdict(lambda: [0, 0])
    creates: list[ProbeMinute] = []
    updates: list[ProbeMinute] = []
    for (sid, minute), (ok, failed) in added.items():
        found = existing.get((sid, minute))
        before = classify_minute(found.ok, found.failed) if found else None
        if found is None:
            row = ProbeMinute(service_id=sid, minute=minute, ok=ok, failed=failed)
            creates.append(row)
        else:
            row = found
            row.ok += ok
            row.failed += failed
            updates.append(row)
        after = classify_minute(row.ok, row.failed)
        up_move = (after is UP) - (before is UP)
        down_move = (after is DOWN) - (before is DOWN)
        move = day_moves[(sid, minute.date())]
        move[0] += up_move
        move[1] += down_move
        move[2] += ok
        move[3] += failed
        hour = hour_moves[(sid, minute.replace(minute=0))]
        hour[0] += up_move
        hour[1] += down_move
    ProbeMinute.objects.bulk_create(creates, batch_size=1000)
    ProbeMinute.objects.bulk_update(updates, ["ok", "failed"], batch_size=1000)
    _add_to(
        ProbeDay,
        ["service_id", "day"],
        {
            key: {"up": m[0], "down": m[1], "probes_ok": m[2], "probes_failed": m[3]}
            for key, m in day_moves.items()
        },
    )
    _add_to(
        ProbeHour,
        ["service_id", "hour"],
        {key: {"up": m[0], "down": m[1]} for key, m in hour_moves.items()},
    )


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


def _apply_latency_summaries(rows: list[ProbeRow]) -> None:
    thresholds: dict[int, list[int]] = defaultdict(list)
    for sid, value in LatencyThreshold.objects.filter(
        service_id__in={r.service_id for r in rows}
    ).values_list("service_id", "threshold_ms"):
        thresholds[sid].append(value)
    if not thresholds:
        return
    days: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: {"fast": 0, "total": 0})
    hours: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: {"fast": 0, "total": 0})
    for sid, _probe, ts, ok, latency in rows:
        if not ok or latency is None:
            continue
        for threshold in thresholds.get(sid, ()):
            for bucket in (
                days[(sid, ts.date(), threshold)],
                hours[(sid, ts.replace(minute=0, second=0, microsecond=0), threshold)],
            ):
                bucket["fast"] += latency <= threshold
                bucket["total"] += 1
    _add_to(ProbeLatencyDay, ["service_id", "day", "threshold_ms"], days)
    _add_to(ProbeLatencyHour, ["service_id", "hour", "threshold_ms"], hours)


def latency_threshold_register(*, service_id: int, threshold_ms: int) -> bool:
    """Start summarising ``threshold_ms`` for a service, back-filled from the raw rows kept.

    Ingestion is held off for the moment of the back-fill (a SHARE lock on the raw table),
    so that no batch is counted twice or missed. Returns False if it was already there.
    """
    if LatencyThreshold.objects.filter(service_id=service_id, threshold_ms=threshold_ms).exists():
        return False
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE metrics_proberesult IN SHARE MODE")
        _, created = LatencyThreshold.objects.get_or_create(
            service_id=service_id, threshold_ms=threshold_ms
        )
        if not created:
            return False
        ProbeLatencyDay.objects.filter(service_id=service_id, threshold_ms=threshold_ms).delete()
        ProbeLatencyHour.objects.filter(service_id=service_id, threshold_ms=threshold_ms).delete()
        days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
        hours: dict[dt.datetime, list[int]] = defaultdict(lambda: [0, 0])
        for ts, latency in (
            ProbeResult.objects.filter(service_id=service_id, ok=True, latency_ms__isnull=False)
            .values_list("ts", "latency_ms")
            .iterator(chunk_size=10_000)
        ):
            fast = latency is not None and latency <= threshold_ms
            for counts in (days[ts.date()], hours[ts.replace(minute=0, second=0, microsecond=0)]):
                counts[0] += fast
                counts[1] += 1
        ProbeLatencyDay.objects.bulk_create(
            [
                ProbeLatencyDay(
                    service_id=service_id, day=d, threshold_ms=threshold_ms, fast=f, total=t
                )
                for d, (f, t) in days.items()
            ],
            batch_size=1000,
        )
        ProbeLatencyHour.objects.bulk_create(
            [
                ProbeLatencyHour(
                    service_id=service_id, hour=h, threshold_ms=threshold_ms, fast=f, total=t
                )
                for h, (f, t) in hours.items()
            ],
            batch_size=1000,
        )
    return True


# Events -----------------------------------------------------------------------------


def events_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    """Store event counts; ``closed`` maps service id to the end of its closed periods."""
    events = _as_rows(rows, EventRow)
    return _retrying(_events, events, _late_of(events, closed))


def _events(rows: list[EventRow], late: list[bool]) -> IngestResult:
    fresh = _new_identities(EventCount, rows, ["service_id", "ts"])
    fresh_rows = [rows[i] for i in fresh]
    now = timezone.now()
    EventCount.objects.bulk_create(
        [
            EventCount(**rows[i]._asdict(), late=late[i], received_at=now)  # type: ignore[misc]
            for i in fresh
        ],
        batch_size=1000,
    )
    added: dict[tuple[int, dt.datetime], list[int]] = defaultdict(lambda: [0, 0])
    for row in fresh_rows:
        counts = added[(row.service_id, minute_of(row.ts))]
        counts[0] += row.good
        counts[1] += row.total
    _add_to(
        EventMinute,
        ["service_id", "minute"],
        {key: {"good": good, "total": total} for key, (good, total) in added.items()},
    )
    _check_minute_totals(added)
    result = _result_of(rows, len(fresh))
    result.late = _record_late("events", fresh_rows, [late[i] for i in fresh])
    return result


def _check_minute_totals(added: dict[tuple[int, dt.datetime], list[int]]) -> None:
    """Refuse (and so roll back) a batch that takes a minute's total past the bound that
    keeps a period's sums storable (see metrics.limits). The rows were locked by the
    update, so concurrent batches are judged one after the other."""
    if not added:
        return
    sids = {sid for sid, _ in added}
    minutes = {minute for _, minute in added}
    over = (
        EventMinute.objects.filter(
            service_id__in=sids, minute__in=minutes, total__gt=MAX_MINUTE_TOTAL
        )
        .values_list("service_id", "minute")
        .first()
    )
    if over is not None and over in added:
        raise MinuteTotalExceeded(*over)


# Incidents, maintenance, tickets: upserts by external id ----------------------------


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


WRITERS: dict[str, Callable[..., IngestResult]] = {
    "probes": probes_ingest,
    "events": events_ingest,
    "incidents": incidents_ingest,
    "maintenance": maintenance_ingest,
    "tickets": tickets_ingest,
}


@dataclass(frozen=True)
class Source:
    """Who sent a batch, and where: what the ingestion log records of it."""

    name: str
    endpoint: str
    api_key_id: int | None = None


def ingest(
    kind: str, *, rows: Sequence[Row], closed: dict[int, dt.datetime | None], source: Source
) -> IngestResult:
    """Store a validated batch of ``kind`` (a key of ``WRITERS``), log it and announce it.

    The log row commits with the batch or not at all. The writers retry inside their own
    savepoints, which the enclosing transaction leaves intact.
    """
    with transaction.atomic():
        result = WRITERS[kind](rows=rows, closed=closed)
        _log_batch(kind, result, records=len(rows), source=source)
    _announce(kind, result)
    return result


def _log_batch(kind: str, result: IngestResult, *, records: int, source: Source) -> None:
    assert result.first is not None and result.last is not None  # batches are never empty
    batch = IngestionBatch.objects.create(
        kind=kind,
        endpoint=source.endpoint[:200],
        api_key_id=source.api_key_id,
        source=source.name[:100],
        records=records,
        accepted=result.accepted,
        duplicates=result.duplicates,
        late=result.late,
        first_ts=result.first,
        last_ts=result.last,
    )
    # One INSERT for the owners, not one per owner.
    if result.service_ids:
        services = IngestionBatch.services.through
        services.objects.bulk_create(
            services(ingestionbatch_id=batch.pk, service_id=sid) for sid in result.service_ids
        )
    if result.customer_ids:
        customers = IngestionBatch.customers.through
        customers.objects.bulk_create(
            customers(ingestionbatch_id=batch.pk, customer_id=cid) for cid in result.customer_ids
        )
