"""Housekeeping of the delivery log."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=60, max_retries=3)
def prune_deliveries() -> int:
    """Delete webhook deliveries older than 30 days (SPEC §4, Integrations)."""
    from integrations.services import deliveries_prune

    return deliveries_prune()
