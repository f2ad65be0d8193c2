"""Samples of numeric metrics (rule 16) and their per-minute summaries (count and sum)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from metrics.models import Sample
from metrics.rows import SampleRow
from metrics.services.common import (
    IngestResult,
    _as_rows,
    _late_of,
    _new_identities,
    _record_late,
    _result_of,
    _retrying,
    minute_of,
)


def samples_ingest(
    *, rows: Sequence[tuple[Any, ...]], closed: dict[int, dt.datetime | None]
) -> IngestResult:
    """Store samples ``(service_id, metric, ts, value)``; identity (service, metric, ts):
    a sample already stored is a duplicate and changes nothing. ``closed`` maps service id
    to the end of its closed periods (what arrives before it is flagged late)."""
    samples = _as_rows(rows, SampleRow)
    return _retrying(_samples, samples, _late_of(samples, closed))


# One statement per thousand minutes, valid on PostgreSQL and SQLite (3.24+): a
# select-then-bulk_update of the summary rows made sample ingestion a quarter of the probe
# speed (bench/ingest.py, 100,000 records in batches of 5,000: 2,948 samples/s against
# 11,547 probes/s); this upsert doubled it (6,850 samples/s against 24,626 probes/s on a
# quieter run), still short of half the probe speed: the raw rows' bulk_create is next.
_UPSERT = (
    "INSERT INTO metrics_sampleminute (service_id, metric, minute, count, total_micros) "
    "VALUES {values} ON CONFLICT (service_id, metric, minute) DO UPDATE SET "
    "count = metrics_sampleminute.count + excluded.count, "
    "total_micros = metrics_sampleminute.total_micros + excluded.total_micros"
)


def _add_to_summary(added: dict[tuple[int, str, dt.datetime], list[int]]) -> None:
    rows = [
        (sid, metric, connection.ops.adapt_datetimefield_value(minute), count, total)
        for (sid, metric, minute), (count, total) in sorted(added.items())
    ]
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 1000):
            chunk = rows[i : i + 1000]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                _UPSERT.format(values=values),  # placeholders only
                [value for row in chunk for value in row],
            )


def micros(value: Decimal) -> int:
    """A sample's value in millionths of its unit (values have at most six decimals)."""
    return int(value.scaleb(6))


def _samples(rows: list[SampleRow], late: list[bool]) -> IngestResult:
    fresh = _new_identities(Sample, rows, ["service_id", "metric", "ts"])  # type: ignore[arg-type]
    fresh_rows = [rows[i] for i in fresh]
    now = timezone.now()
    Sample.objects.bulk_create(
        [
            Sample(**rows[i]._asdict(), late=late[i], received_at=now)  # type: ignore[misc]
            for i in fresh
        ],
        batch_size=1000,
    )
    added: dict[tuple[int, str, dt.datetime], list[int]] = defaultdict(lambda: [0, 0])
    for row in fresh_rows:
        summary = added[(row.service_id, row.metric, minute_of(row.ts))]
        summary[0] += 1
        summary[1] += micros(row.value)
    _add_to_summary(added)
    result = _result_of(rows, len(fresh))
    result.late = _record_late("samples", fresh_rows, [late[i] for i in fresh])
    return result
