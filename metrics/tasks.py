"""Housekeeping of raw measurements: partitions ahead, and pruning past the retention."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agreements.models import Service
from metrics import partitions
from metrics.models import EventCount, Maintenance, ProbeResult
from metrics.services.records import series_sync

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def ensure_partitions(months_ahead: int = 3) -> list[str]:
    today = timezone.now().date()
    created = partitions.ensure_partitions(today, partitions.add_months(today, months_ahead))
    if created:
        log.info("created probe partitions %s", ", ".join(created))
    return created


def prune_cutoffs(now: dt.datetime) -> dict[int, dt.datetime]:
    """Per service, the instant before which raw rows may go: past the retention and
    inside closed periods only (a service with no closed period keeps everything)."""
    retention = now - dt.timedelta(days=settings.RAW_RETENTION_DAYS)
    return {
        sid: min(retention, closed)  # type: ignore[type-var,misc]
        for sid, closed in Service.objects.exclude(closed_until=None).values_list(
            "id", "closed_until"
        )
    }


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def prune_raw(now_iso: str | None = None) -> dict[str, int]:
    """Delete raw probes and events older than the retention; summaries stay."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    cutoffs = prune_cutoffs(now)
    dropped = 0
    if cutoffs and partitions.is_partitioned():
        # Whole months every service is done with go as a DROP of their partition.
        all_services = set(Service.objects.values_list("id", flat=True))
        if set(cutoffs) == all_services:
            safe = min(cutoffs.values()).date()
            dropped = len(partitions.drop_partitions_before(safe))
    deleted = {"probes": 0, "events": 0, "partitions_dropped": dropped}
    for sid, cutoff in cutoffs.items():
        with transaction.atomic():
            deleted["probes"] += ProbeResult.objects.filter(service_id=sid, ts__lt=cutoff).delete()[
                0
            ]
            deleted["events"] += EventCount.objects.filter(service_id=sid, ts__lt=cutoff).delete()[
                0
            ]
    log.info("pruned raw measurements: %s", deleted)
    return deleted


__all__ = ["ensure_partitions", "prune_raw"]


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def extend_maintenance_series(now_iso: str | None = None) -> int:
    """Move every recurring maintenance window's stored occurrences on to the horizon
    (``metrics.recurrence.HORIZON`` after now): run daily by beat, idempotent. Returns
    how many occurrences were created, changed or removed."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    touched = 0
    parents = (
        Maintenance.objects.filter(series=None).exclude(recurrence="").values_list("pk", flat=True)
    )
    for pk in list(parents):
        with transaction.atomic():
            parent = Maintenance.objects.select_for_update().select_related("service").get(pk=pk)
            touched += len(
                series_sync(parent, now=now, closed_until=parent.service.closed_until).stamps
            )
    return touched
