"""Escalations: start, advance level by level, resolve, acknowledge; their email."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from credits.models import Period
from metrics.models import Incident
from notifications.models import Escalation, EscalationNotice, Event
from notifications.services.payloads import site_url
from notifications.tasks import advance_escalation

ACK_SALT = "notifications.escalation-ack"
ACK_LINK_MAX_AGE = dt.timedelta(days=7)


def escalation_start(
    *,
    event: Event,
    kind: str,
    subject: str,
    period: Period | None = None,
    objective_key: str = "",
    incident: Incident | None = None,
) -> Escalation:
    """Open an escalation; level 1 is told at once (after commit), the rest by the beat."""
    now = timezone.now()
    escalation = Escalation.objects.create(
        agreement=event.agreement,
        event=event,
        kind=kind,
        subject=subject[:300],
        period=period,
        objective_key=objective_key,
        incident=incident,
        started_at=now,
        next_at=now,
    )
    transaction.on_commit(partial(advance_escalation.delay, escalation.pk))
    return escalation


@transaction.atomic
def escalation_advance(*, escalation_id: int, now: dt.datetime) -> list[EscalationNotice]:
    """Tell every level that is due and not told yet; idempotent."""
    escalation = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("agreement", "incident")
        .get(pk=escalation_id)
    )
    incident = escalation.incident
    if incident is not None and escalation.acknowledged_at is None:
        if incident.resolved_at is not None:
            escalation_resolve(escalation=escalation, reason="incident resolved", now=now)
        elif incident.acknowledged_at is not None:
            escalation.acknowledged_at = incident.acknowledged_at
            escalation.acknowledged_by = incident.acknowledged_by or "incident"
            escalation.acknowledged_via = Escalation.Via.INCIDENT
    if escalation.resolved_at is not None or escalation.acknowledged_at is not None:
        escalation.next_at = None
        escalation.save()
        return []
    levels = list(escalation.agreement.escalation.order_by("level"))
    told = set(escalation.notices.values_list("level", flat=True))
    sent = []
    next_at = None
    for index, level in enumerate(levels):
        due_at = escalation.started_at + dt.timedelta(seconds=level.after_seconds)
        if level.level in told:
            continue
        if index == 0 or due_at <= now:
            _send_escalation_email(escalation, level.level, level.contact)
            sent.append(
                EscalationNotice.objects.create(
                    escalation=escalation, level=level.level, contact=level.contact, sent_at=now
                )
            )
            escalation.level_notified = max(escalation.level_notified, level.level)
        elif next_at is None or due_at < next_at:
            next_at = due_at
    escalation.next_at = next_at
    escalation.save()
    return sent


def escalation_resolve(*, escalation: Escalation, reason: str, now: dt.datetime) -> None:
    """Mark the escalation resolved (``reason`` is cut to 200 characters); no level follows."""
    escalation.resolved_at = now
    escalation.resolution = reason[:200]
    escalation.next_at = None
    escalation.save(update_fields=["resolved_at", "resolution", "next_at"])


@transaction.atomic
def escalation_acknowledge(
    *, escalation_id: int, actor: str, via: str, now: dt.datetime
) -> Escalation:
    """Record who acknowledged and when; acknowledging twice keeps the first one."""
    escalation = Escalation.objects.select_for_update(of=("self",)).get(pk=escalation_id)
    if escalation.acknowledged_at is not None or escalation.resolved_at is not None:
        return escalation
    escalation.acknowledged_at = now
    escalation.acknowledged_by = actor[:254] or "unknown"
    escalation.acknowledged_via = via
    escalation.next_at = None
    escalation.save()
    if escalation.incident_id is not None:
        Incident.objects.filter(pk=escalation.incident_id, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=actor[:150]
        )
    return escalation


def ack_token(escalation: Escalation, contact: str) -> str:
    """The signed token of an acknowledgement link for one contact (see ``read_ack_token``)."""
    return signing.dumps({"e": escalation.pk, "c": contact}, salt=ACK_SALT)


def read_ack_token(token: str) -> tuple[int, str]:
    """(escalation id, contact); raises signing.BadSignature (or SignatureExpired)."""
    data = signing.loads(token, salt=ACK_SALT, max_age=ACK_LINK_MAX_AGE)
    return int(data["e"]), str(data["c"])


def _send_escalation_email(escalation: Escalation, level: int, contact: str) -> None:
    agreement = escalation.agreement
    context = {
        "escalation": escalation,
        "agreement": agreement,
        "level": level,
        "event": escalation.event,
        "ack_url": site_url(
            reverse("notifications:ack-link", args=[ack_token(escalation, contact)])
        ),
        "agreement_url": site_url(reverse("agreement", args=[agreement.key])),
        "valid_days": ACK_LINK_MAX_AGE.days,
    }
    message = EmailMultiAlternatives(
        subject=f"[SLA Portal] Escalation level {level}: {escalation.subject}",
        body=render_to_string("notifications/email/escalation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact],
    )
    message.attach_alternative(
        render_to_string("notifications/email/escalation.html", context), "text/html"
    )
    message.send()
