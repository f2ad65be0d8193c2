"""Thin Celery tasks: ids in, a service call, explicit retries; safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from agreements.models import Agreement
from credits import closing, recompute

log = logging.getLogger(__name__)
PENDING = "recompute-pending:{}"


RETRY = {
    "acks_late": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 10,
    "retry_backoff_max": 300,
    "max_retries": 5,
}


@shared_task(**RETRY)
def recompute_agreement(agreement_id: int) -> str:
    # Cleared first: data arriving while we compute schedules one more run.
    cache.delete(PENDING.format(agreement_id))
    if not Agreement.objects.filter(pk=agreement_id).exists():
        return "gone"
    return recompute.recompute_agreement(agreement_id=agreement_id).line()


@shared_task(**RETRY)
def recompute_agreements(agreement_ids: list[int]) -> list[str]:
    """A batch of agreements evaluated together: a constant number of queries, one commit."""
    # Cleared first: data arriving while we compute schedules one more run.
    cache.delete_many([PENDING.format(i) for i in agreement_ids])
    return [s.line() for s in recompute.recompute_agreements(agreement_ids=agreement_ids)]


@shared_task(acks_late=True)
def recompute_all() -> int:
    """Fan out in batches of RECOMPUTE_BATCH_SIZE agreements, so several workers share
    the work while each batch costs a constant number of queries."""
    ids = list(Agreement.objects.order_by("pk").values_list("id", flat=True))
    for batch in recompute.batches(ids):
        recompute_agreements.delay(batch)
    return len(ids)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def close_periods(now_iso: str | None = None) -> list[str]:
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    return [f"{p.agreement.key} {p.period}" for p in closing.close_due_periods(now=now)]


@shared_task(acks_late=True)
def expire_claims() -> int:
    from credits import claims

    return claims.expire_claims(now=timezone.now())


def schedule_recompute(agreement_ids: list[int]) -> list[int]:
    """Schedule a recompute shortly after data arrives, once per burst of batches.

    An agreement already waiting for its recompute is not scheduled again; the ones newly
    scheduled by one arrival go out together, in batches.
    """
    delay = settings.RECOMPUTE_DEBOUNCE_SECONDS
    scheduled = [
        agreement_id
        for agreement_id in agreement_ids
        if cache.add(PENDING.format(agreement_id), 1, timeout=delay + 600)
    ]
    for batch in recompute.batches(scheduled):
        transaction.on_commit(partial(recompute_agreements.apply_async, (batch,), countdown=delay))
    return scheduled


def recompute_now(agreement_ids: list[int]) -> int:
    """Queue the recompute of these agreements' open periods now, in batches of
    RECOMPUTE_BATCH_SIZE (no debounce: staff asked for it); closed periods stay frozen.
    Returns how many agreements were queued. Raises kombu's ``OperationalError`` when
    the broker cannot be reached."""
    ids = sorted(set(agreement_ids))
    for batch in recompute.batches(ids):
        recompute_agreements.delay(batch)
    return len(ids)
