"""Samples of numeric metrics (rule 16) and their per-minute summaries (count and sum)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from metrics.models import Sample, SampleMinute
from metrics.rows import SampleRow
from metrics.services.common import (
    IngestResult,
    _add_to,
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
    _add_to(
        SampleMinute,
        ["service_id", "metric", "minute"],
        {key: {"count": count, "total_micros": total} for key, (count, total) in added.items()},
    )
    result = _result_of(rows, len(fresh))
    result.late = _record_late("samples", fresh_rows, [late[i] for i in fresh])
    return result
