"""Thin Celery tasks of the status page's emails: ids in, a service call, safe to run
twice (each notice reaches each subscriber once: ``Delivery``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def send_confirmation(subscriber_id: int, already: bool) -> bool:
    from status import emails

    return emails.send_confirmation(subscriber_id=subscriber_id, already=already)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def notify_incident(incident_id: int, notice: str) -> int:
    """``notice``: opened | resolved. Returns how many emails went out."""
    from status import emails

    return emails.notify_incident(incident_id=incident_id, notice=notice)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def notify_update(update_id: int) -> int:
    from status import emails

    return emails.notify_update(update_id=update_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def notify_maintenance(maintenance_id: int) -> int:
    from status import emails

    return emails.notify_maintenance(maintenance_id=maintenance_id)
