"""Email digests: items queued per recipient, sent as one email per window; preferences."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, Membership
from notifications.models import DEFAULT_EMAIL_EVENTS, EmailItem, Event, EventType, Preference
from notifications.services.payloads import site_url
from notifications.tasks import send_digests

DIGEST_PENDING = "notifications:digest-pending"
log = logging.getLogger(__name__)


def digest_seconds() -> int:
    """How long (seconds) an event waits for others before its digest goes out."""
    return settings.NOTIFICATION_DIGEST_SECONDS


def wanted_events(preference: Preference | None) -> list[str]:
    """The event types a member receives by email: their choice, else the defaults."""
    return list(preference.events) if preference is not None else list(DEFAULT_EMAIL_EVENTS)


def queue_email(event: Event) -> None:
    """Queue the event for each active member who wants it, and schedule a digest pass.

    The pass runs once per window (one cache key), after commit, ``digest_seconds()``
    + 1 s later.
    """
    agreement = event.agreement
    members = list(
        Membership.objects.filter(customer_id=agreement.customer_id, user__is_active=True)
        .exclude(user__email="")
        .values_list("user_id", "user__email")
    )
    if not members:
        return
    preferences = {
        p.user_id: p
        for p in Preference.objects.filter(agreement=agreement, user_id__in=[u for u, _ in members])
    }
    now = timezone.now()
    items = [
        EmailItem(event=event, recipient=email, queued_at=now)
        for user_id, email in members
        if event.type in wanted_events(preferences.get(user_id))
    ]
    if not items:
        return
    EmailItem.objects.bulk_create(items, ignore_conflicts=True)
    window = digest_seconds()
    # One scheduled digest pass per window, however many events fire together.
    if cache.add(DIGEST_PENDING, 1, timeout=window):
        transaction.on_commit(partial(send_digests.apply_async, countdown=window + 1))


def send_due_digests(*, now: dt.datetime) -> int:
    """One email per recipient whose oldest queued item has waited a full window."""
    cutoff = now - dt.timedelta(seconds=digest_seconds())
    due = (
        EmailItem.objects.filter(sent_at__isnull=True)
        .values("recipient")
        .annotate(oldest=Min("queued_at"))
        .filter(oldest__lte=cutoff)
        .values_list("recipient", flat=True)
    )
    sent = 0
    for recipient in list(due):
        # One recipient whose digest cannot go out (a bad address, a refused message)
        # never holds up the others; its items stay queued for the next pass.
        try:
            sent += send_digest(recipient=recipient, now=now)
        except Exception:
            log.exception("digest for %s failed; the others go on", recipient)
    return sent


@transaction.atomic
def send_digest(*, recipient: str, now: dt.datetime) -> int:
    """Send a recipient's queued items as one email; returns 1 if sent, 0 if none queued.

    The items are locked until commit (on PostgreSQL), so two passes running at once
    do not send them twice.
    """
    items = list(
        EmailItem.objects.select_for_update(of=("self",))
        .filter(recipient=recipient, sent_at__isnull=True)
        .select_related("event__agreement")
        .order_by("event__agreement__key", "event__occurred_at", "id")
    )
    if not items:
        return 0
    events = [item.event for item in items]
    agreements: dict[str, list[Event]] = {}
    for event in events:
        agreements.setdefault(event.agreement.key, []).append(event)
    if len(events) == 1:
        subject = f"[SLA Portal] {events[0].agreement.key}: {events[0].summary}"
    else:
        subject = f"[SLA Portal] {len(events)} notifications for {', '.join(agreements)}"
    context = {
        "groups": [
            {
                "agreement": group[0].agreement,
                "events": group,
                "url": site_url(reverse("agreement", args=[key])),
                "settings_url": site_url(reverse("notifications:settings", args=[key])),
            }
            for key, group in agreements.items()
        ],
        "count": len(events),
    }
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string("notifications/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach_alternative(
        render_to_string("notifications/email/digest.html", context), "text/html"
    )
    message.send()
    EmailItem.objects.filter(pk__in=[item.pk for item in items]).update(sent_at=now)
    return 1


def preference_save(*, agreement: Agreement, user: Any, events: Iterable[str]) -> Preference:
    """Store which event types a member receives by email for an agreement.

    Unknown types in ``events`` are dropped; the stored list follows EventType order.
    """
    chosen = [t for t in EventType.values if t in set(events)]
    preference, _ = Preference.objects.update_or_create(
        agreement=agreement, user=user, defaults={"events": chosen}
    )
    return preference
