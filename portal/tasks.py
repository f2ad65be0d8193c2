"""Thin Celery tasks of the portal itself."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def send_pending_tasks() -> int:
    """Send the tasks kept in the database while the broker was down."""
    from portal import outbox

    return outbox.send_pending(now=timezone.now())
