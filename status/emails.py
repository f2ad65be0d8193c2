"""The status page's emails: the confirmation link, and the notices to confirmed
subscribers when an incident of a public service opens, gets an update or resolves,
and when maintenance is scheduled.

Every notice carries a one-click unsubscribe link in its text and in the
``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers (RFC 2369, RFC 8058). Nothing is
ever sent to an unconfirmed address, and each notice reaches a subscriber once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agreements.models import Service
from metrics.models import Incident, IncidentStatusUpdate, Maintenance
from notifications.services.payloads import site_url
from status import subscriptions
from status.models import Delivery, Subscriber
from status.snapshot import public_id

SUBJECT_PREFIX = "[Status]"
# At most this many notices reach one subscriber in an hour: a burst (a thousand alerts
# of one outage, a hundred updates) must not flood an inbox. The notice that reaches the
# cap says so and points to the page; the rest of the hour's notices are recorded as
# suppressed, never sent later.
NOTICES_PER_HOUR = 12
SUPPRESSED = "suppressed:"


def _unsubscribe_url(subscriber: Subscriber) -> str:
    return site_url(
        reverse("status:unsubscribe", args=[subscriptions.unsubscribe_token(subscriber)])
    )


def _message(
    subscriber: Subscriber, subject: str, template: str, context: dict[str, Any]
) -> EmailMessage:
    unsubscribe = _unsubscribe_url(subscriber)
    body: str = render_to_string(
        template,
        {**context, "unsubscribe_url": unsubscribe, "status_url": site_url(reverse("status:page"))},
    )
    if context.get("capped"):
        body += (
            f"\nThis is the {context['capped']}th notice within an hour: the rest of this "
            "hour's notices are not emailed; the status page has every one.\n"
        )
    return EmailMessage(
        subject=f"{SUBJECT_PREFIX} {subject}"[:200],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def send_confirmation(*, subscriber_id: int, already: bool) -> bool:
    """The confirmation link (or, for a confirmed address, a note that it is subscribed
    already). Returns whether an email went out."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return False
    context = {
        "confirm_url": site_url(
            reverse("status:confirm", args=[subscriptions.confirm_token(subscriber)])
        ),
        "already": already,
        "days": subscriptions.CONFIRM_DAYS,
    }
    subject = "You are subscribed already" if already else "Confirm your subscription"
    _message(subscriber, subject, "status/email/confirm.txt", context).send()
    return True


def _send_notice(
    service: Service, notice: str, subject: str, template: str, context: dict[str, Any]
) -> int:
    """Send one notice to every confirmed subscriber following ``service`` that has not
    had it, within ``NOTICES_PER_HOUR`` per subscriber; returns how many emails went out."""
    if not service.public:
        return 0
    subscribers = list(Subscriber.objects.confirmed().following(service))
    recent = dict(
        Delivery.objects.filter(
            subscriber__in=subscribers, sent_at__gte=timezone.now() - dt.timedelta(hours=1)
        )
        .exclude(notice__startswith=SUPPRESSED)
        .values("subscriber")
        .annotate(n=Count("pk"))
        .values_list("subscriber", "n")
    )
    messages = []
    for subscriber in subscribers:
        sent = recent.get(subscriber.pk, 0)
        record = notice if sent < NOTICES_PER_HOUR else f"{SUPPRESSED}{notice}"
        try:
            with transaction.atomic():
                Delivery.objects.create(subscriber=subscriber, notice=record[:100])
        except IntegrityError:
            continue  # told already
        if sent < NOTICES_PER_HOUR - 1:
            messages.append(_message(subscriber, subject, template, context))
        elif sent == NOTICES_PER_HOUR - 1:
            messages.append(
                _message(
                    subscriber,
                    f"{subject} (more on the status page)",
                    template,
                    {**context, "capped": NOTICES_PER_HOUR},
                )
            )
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


def notify_incident(*, incident_id: int, notice: str) -> int:
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        return 0
    name = incident.service.name or incident.service.key
    word = "Resolved" if notice == "resolved" else incident.get_impact_display()
    return _send_notice(
        incident.service,
        f"incident-{notice}:{incident.pk}",
        f"{word}: {name} — {incident.title}",
        "status/email/incident.txt",
        {
            "incident": incident,
            "notice": notice,
            "service_name": name,
            "anchor": f"incident-{public_id('incident', incident.pk)}",
        },
    )


def notify_update(*, update_id: int) -> int:
    update = (
        IncidentStatusUpdate.objects.select_related("incident__service")
        .filter(pk=update_id)
        .first()
    )
    if update is None:
        return 0
    incident = update.incident
    name = incident.service.name or incident.service.key
    return _send_notice(
        incident.service,
        f"incident-update:{update.pk}",
        f"{update.get_status_display()}: {name} — {incident.title}",
        "status/email/update.txt",
        {
            "incident": incident,
            "update": update,
            "service_name": name,
            "anchor": f"incident-{public_id('incident', incident.pk)}",
        },
    )


def notify_maintenance(*, maintenance_id: int) -> int:
    window = Maintenance.objects.select_related("service").filter(pk=maintenance_id).first()
    if window is None or window.end <= timezone.now():
        return 0
    name = window.service.name or window.service.key
    return _send_notice(
        window.service,
        f"maintenance-scheduled:{window.pk}",
        f"Maintenance scheduled: {name} — {window.title}",
        "status/email/maintenance.txt",
        {
            "window": window,
            "service_name": name,
            "anchor": f"maintenance-{public_id('maintenance', window.pk)}",
        },
    )
