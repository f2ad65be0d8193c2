"""Thin Celery tasks of notifications: ids in, a service call, safe to run twice.

``escalate`` is declared in portal.celery's beat schedule (every 60 s). It tells the
escalation levels that are due, raises maintenance started/finished events, and sends
the email digests whose window has passed (a safety net for the scheduled ones).

The services enqueue these tasks, so they import this module at load time. Following
the Django-Styleguide's rule for Celery, each task imports the services it calls in its
own body, when it runs: this module imports no service at load time, and no cycle forms.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from agreements.models import Agreement, Objective
from credits.models import Period
from notifications.models import Escalation

log = logging.getLogger(__name__)

# Seconds before retry n (0-based): 30 s, 1 min, 2 min, 4 min, 8 min, ... capped at 1 h.
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def backoff(retries: int) -> int:
    """Seconds to wait before retry number ``retries`` (0-based) of a webhook delivery."""
    return int(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**retries))


@shared_task(acks_late=True)
def escalate() -> int:
    """The beat's pass; returns how many escalations were due (each advanced by a task)."""
    from notifications.services import digests, metric_events

    now = timezone.now()
    due = list(Escalation.objects.open().filter(next_at__lte=now).values_list("id", flat=True))
    for escalation_id in due:
        advance_escalation.delay(escalation_id)
    metric_events.maintenance_tick(now=now)
    for agreement_id in ticket_agreements():
        raise_ticket_events.delay(agreement_id, now.isoformat())
    digests.send_due_digests(now=now)
    return len(due)


def ticket_agreements() -> list[int]:
    """Agreements with a ticket objective: their tickets' clocks are watched each pass."""
    return list(
        Agreement.objects.filter(
            objectives__indicator__in=[
                Objective.Indicator.RESPONSE_TIME,
                Objective.Indicator.RESOLUTION_TIME,
            ]
        )
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def raise_ticket_events(agreement_id: int, now: str) -> int:
    """Raise the agreement's ticket.due_soon / ticket.breached events as of ``now``
    (ISO 8601); safe to run twice. Returns how many were raised."""
    from notifications.services import ticket_events

    return len(
        ticket_events.ticket_events(agreement_id=agreement_id, now=dt.datetime.fromisoformat(now))
    )


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def advance_escalation(escalation_id: int) -> int:
    """Tell the escalation's due levels; returns how many were told now."""
    from notifications.services import escalation

    return len(escalation.escalation_advance(escalation_id=escalation_id, now=timezone.now()))


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def handle_incident_change(incident_id: int, created: bool, changes: dict[str, Any]) -> int:
    """Raise the events (and start or resolve escalations) of an incident's change.

    Safe to run twice: each event has its idempotency key. Returns how many were raised.
    """
    from notifications.services import metric_events

    return len(
        metric_events.incident_changed(incident_id=incident_id, created=created, changes=changes)
    )


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def handle_objective_status_change(
    period_id: int, objective_key: str, current: str, at: str
) -> bool:
    """Raise the event (and start or resolve escalations) of an objective's new status.

    Safe to run twice or out of order: the service keeps the last status it saw.
    """
    from notifications.services import credit_events

    if not Period.objects.filter(pk=period_id).exists():
        return False  # recomputed away (its agreement was deleted) before we ran
    event = credit_events.record_objective_status(
        period_id=period_id,
        objective_key=objective_key,
        current=current,
        at=dt.datetime.fromisoformat(at),
    )
    return event is not None


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def send_digests() -> int:
    """Send the digests whose window has passed; returns how many emails went out."""
    from notifications.services import digests

    return digests.send_due_digests(now=timezone.now())


@shared_task(bind=True, acks_late=True)
def deliver_webhook(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    """One attempt now; on failure a retry with exponential backoff, then give up."""
    from notifications.services import webhook_deliveries as deliveries

    outcome = deliveries.webhook_attempt(delivery_id=delivery_id)
    if outcome is None:
        return "skipped"
    if outcome.ok:
        return "delivered"
    retries = self.request.retries or 0
    if retries + 1 < deliveries.webhook_max_attempts() and not outcome.error.startswith("refused"):
        if self.request.is_eager:
            # Eager mode (tests, or no worker) cannot wait: the next attempt runs at once.
            return str(deliver_webhook.apply(args=(delivery_id,), retries=retries + 1).result)
        raise self.retry(
            countdown=backoff(retries), max_retries=deliveries.webhook_max_attempts() - 1
        )
    deliveries.webhook_give_up(delivery_id=delivery_id, now=timezone.now())
    return "failed"
