"""Bulk writes of measurements and of the summaries kept beside them.

One module per kind of measurement (``probes``, ``events``, ``records`` for the upserted
incidents, maintenance and tickets, ``samples``), sharing ``common``. ``ingest`` is the one entry point
the API uses: it stores a validated batch, logs it and announces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction

from metrics.models import IngestionBatch
from metrics.rows import Row
from metrics.services.common import IngestResult, _announce, minute_of
from metrics.services.events import events_ingest
from metrics.services.probes import latency_threshold_register, probes_ingest
from metrics.services.records import incidents_ingest, maintenance_ingest, tickets_ingest
from metrics.services.samples import samples_ingest

__all__ = [
    "WRITERS",
    "IngestResult",
    "Source",
    "events_ingest",
    "incidents_ingest",
    "ingest",
    "latency_threshold_register",
    "maintenance_ingest",
    "minute_of",
    "probes_ingest",
    "samples_ingest",
    "tickets_ingest",
]


WRITERS: dict[str, Callable[..., IngestResult]] = {
    "probes": probes_ingest,
    "events": events_ingest,
    "incidents": incidents_ingest,
    "maintenance": maintenance_ingest,
    "tickets": tickets_ingest,
    "samples": samples_ingest,
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
