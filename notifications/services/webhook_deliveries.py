"""Webhook endpoints and the delivery of events to them: queue, attempt, give up, resend."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from agreements.models import Membership
from notifications import webhooks
from notifications.models import (
    Event,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.services.payloads import event_payload, site_url
from notifications.tasks import deliver_webhook

log = logging.getLogger(__name__)


def webhook_max_attempts() -> int:
    """HTTP attempts per delivery, the first included (``WEBHOOK_MAX_ATTEMPTS``)."""
    return settings.WEBHOOK_MAX_ATTEMPTS


def webhook_disable_after() -> int:
    """Failed deliveries in a row before an endpoint is disabled (``WEBHOOK_DISABLE_AFTER``)."""
    return settings.WEBHOOK_DISABLE_AFTER


def webhook_register(
    *, customer: Any, url: str, events: list[str], actor: str, description: str = ""
) -> WebhookEndpoint:
    """Create an active endpoint for a customer; unknown event types are dropped.

    The stored types follow EventType order. The URL is stored as given: the serializer
    that took it checked it (webhooks.check_url).
    """
    return WebhookEndpoint.objects.create(
        customer=customer,
        url=url,
        events=[t for t in EventType.values if t in set(events)],
        description=description,
        created_by=actor[:150],
    )


def queue_webhooks(event: Event) -> None:
    """Create a pending delivery per active endpoint that wants the event; each is sent
    by ``deliver_webhook`` after commit."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.active().filter(customer_id=event.agreement.customer_id)
        if e.wants(event.type)
    ]
    if not endpoints:
        return
    now = timezone.now()
    deliveries = [WebhookDelivery(endpoint=e, event=event, created_at=now) for e in endpoints]
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        transaction.on_commit(partial(deliver_webhook.delay, delivery.pk))


def webhook_attempt(*, delivery_id: int) -> webhooks.Outcome | None:
    """One HTTP attempt of a pending delivery, logged; None when there is nothing to do."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "event__agreement")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.state != WebhookDelivery.State.PENDING:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return None
    body = webhooks.encode(event_payload(delivery.event))
    number = delivery.attempts + 1
    outcome = webhooks.post(
        endpoint.url,
        secret=endpoint.secret,
        body=body,
        headers={
            "X-SLA-Event": delivery.event.type,
            "X-SLA-Delivery": str(delivery.pk),
            "X-SLA-Attempt": str(number),
        },
    )
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error[:300],
            response_excerpt=outcome.excerpt[:500],
        )
        update: dict[str, Any] = {
            "attempts": F("attempts") + 1,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error[:300],
        }
        if outcome.ok:
            update.update(state=WebhookDelivery.State.SUCCEEDED, finished_at=now)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**update)
    return outcome


@transaction.atomic
def webhook_give_up(*, delivery_id: int, now: dt.datetime) -> WebhookDelivery:
    """Every retry failed: the delivery failed, and enough failures disable the endpoint."""
    delivery = WebhookDelivery.objects.select_related("endpoint__customer").get(pk=delivery_id)
    delivery.state = WebhookDelivery.State.FAILED
    delivery.finished_at = now
    delivery.save(update_fields=["state", "finished_at"])
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    endpoint.consecutive_failures += 1
    if endpoint.is_active and endpoint.consecutive_failures >= webhook_disable_after():
        endpoint.is_active = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = (
            f"{endpoint.consecutive_failures} deliveries in a row failed after every retry "
            f"(last: {delivery.last_error or 'no answer'})"
        )[:300]
        transaction.on_commit(partial(_send_disabled_email, endpoint.pk))
    endpoint.save()
    return delivery


def _send_disabled_email(endpoint_id: int) -> None:
    endpoint = WebhookEndpoint.objects.select_related("customer").get(pk=endpoint_id)
    members = Membership.objects.filter(customer=endpoint.customer, user__is_active=True).exclude(
        user__email=""
    )
    managers = members.filter(role=Membership.Role.MANAGER)
    recipients = sorted(
        set((managers if managers.exists() else members).values_list("user__email", flat=True))
    )
    if not recipients:
        log.warning(
            "webhook %s disabled; customer %s has no member with an email",
            endpoint.pk,
            endpoint.customer.key,
        )
        return
    context = {"endpoint": endpoint, "admin_hint": site_url("/")}
    message = EmailMultiAlternatives(
        subject=f"[SLA Portal] Webhook disabled: {endpoint.url}"[:200],
        body=render_to_string("notifications/email/webhook_disabled.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(
        render_to_string("notifications/email/webhook_disabled.html", context), "text/html"
    )
    message.send()


@transaction.atomic
def webhook_resend(*, delivery_id: int) -> bool:
    """Deliver again (staff action); False when the endpoint is disabled."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.is_active:
        return False
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WebhookDelivery.State.PENDING, finished_at=None
    )
    transaction.on_commit(partial(deliver_webhook.delay, delivery.pk))
    return True


def webhook_enable(*, endpoint_id: int) -> None:
    """Enable an endpoint again (staff action), with its failure count back at 0."""
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0
    )


def webhook_disable(*, endpoint_id: int, reason: str, now: dt.datetime) -> None:
    """Disable an endpoint (staff action); ``reason`` is cut to 300 characters."""
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:300]
    )
