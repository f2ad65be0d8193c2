"""Event counts (rule 7) and their per-minute summaries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from metrics.limits import MAX_MINUTE_TOTAL, MinuteTotalExceeded
from metrics.models import (
    EventCount,
    EventMinute,
)
from metrics.rows import (
    EventRow,
)
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
