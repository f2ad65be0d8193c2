"""Probe results (rules 4 and 6) and the summaries kept beside them.

Probes are append-only: a record whose identity is already stored is a duplicate and
changes nothing. The per-minute, per-hour and per-day summaries are updated in the same
transaction from the rows actually inserted, so they always equal a recount of the raw rows.
On PostgreSQL a batch is copied in and summarised by one statement; elsewhere the generic
path does the same in Python.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from agreements.engine import MinuteState, classify_minute, minute_state_sql
from metrics.models import (
    LatencyThreshold,
    ProbeDay,
    ProbeHour,
    ProbeLatencyDay,
    ProbeLatencyHour,
    ProbeMinute,
    ProbeResult,
)
from metrics.rows import (
    ProbeRow,
)
from metrics.services.common import (
    EPOCH,
    MICROSECOND,
    IngestResult,
    _add_to,
    _as_rows,
    _copy_text,
    _late_of,
    _new_identities,
    _record_late,
    _record_late_groups,
    _result_of,
    _retrying,
    _stage_and_store,
    minute_of,
)

UTC = dt.UTC
UP, DOWN = MinuteState.UP, MinuteState.DOWN


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
            f"{sid}\t{name}\t{(ts - EPOCH) // MICROSECOND}\t{'t' if ok else 'f'}\t"
            f"{null if latency is None else repr(latency)}\t{'t' if is_late else 'f'}\n"
        )
    buffer.seek(0)
    inserted, late_groups = _stage_and_store(
        table="metrics_probe_stage",
        definition="service_id bigint, probe text, ts_us bigint, ok boolean, "
        "latency_ms double precision, late boolean",
        columns="service_id, probe, ts_us, ok, latency_ms, late",
        buffer=buffer,
        store=_PROBE_UPSERT,
        store_skipping=_PROBE_UPSERT_SKIPPING_DUPLICATES,
    )
    result = _result_of(rows, inserted)
    result.late = _record_late_groups("probes", late_groups)
    return result


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
