"""Housekeeping of the delivery log."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def prune_deliveries() -> int:
    """Delete webhook deliveries older than 30 days (SPEC §4, Integrations)."""
    from integrations.services import deliveries_prune

    return deliveries_prune()


# Held while a pull runs, so that a catch-up longer than beat's minute is not read twice
# at once; it expires by itself should a worker die holding it.
PULL_LOCK = "integrations:prometheus-pull"
PULL_LOCK_SECONDS = 15 * 60


@shared_task(acks_late=True)
def pull_prometheus() -> int:
    """Read every enabled Prometheus source from where it last stopped (SPEC §4, Pull).
    A failing source keeps its position and shows its error in admin; no retry here,
    beat's next minute is the retry. Returns the rows stored (0 when a pull is already
    running)."""
    from django.core.cache import cache

    from integrations.prometheus import sources_pull

    if not cache.add(PULL_LOCK, 1, timeout=PULL_LOCK_SECONDS):
        return 0
    try:
        return sum(result.accepted for result in sources_pull())
    finally:
        cache.delete(PULL_LOCK)
