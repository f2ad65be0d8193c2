"""Writes of the notifications layer: events, escalations, digests, webhook deliveries.

Every event is recorded through ``record_event``, which stores it at most once (unique
idempotency key) and, only when it is new, queues what follows from it: email for the
members who chose it, webhook deliveries for the endpoints that want it, and escalation.
Slow work (sending, HTTP) happens in tasks enqueued after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, Membership
from credits.models import Claim, Evaluation, LedgerEntry, Period
from metrics.models import Incident, Maintenance
from notifications import webhooks
from notifications.models import (
    DEFAULT_EMAIL_EVENTS,
    EmailItem,
    Escalation,
    EscalationNotice,
    Event,
    EventType,
    ObjectiveState,
    Preference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

ACK_SALT = "notifications.escalation-ack"
ACK_LINK_MAX_AGE = dt.timedelta(days=7)
DIGEST_PENDING = "notifications:digest-pending"
# Maintenance that ended longer ago than this is history, not news (e.g. back-filled data).
MAINTENANCE_LOOKBACK = dt.timedelta(hours=24)


def digest_seconds() -> int:
    return int(getattr(settings, "NOTIFICATION_DIGEST_SECONDS", 60))


def webhook_max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6))


def webhook_disable_after() -> int:
    return int(getattr(settings, "WEBHOOK_DISABLE_AFTER", 5))


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _number(value: Decimal | None) -> int | float | None:
    """Figures in payloads are JSON numbers, as in the compliance API."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- Events -------------------------------------------------------------------------


def record_event(
    *,
    agreement: Agreement,
    type: str,
    key: str,
    occurred_at: dt.datetime,
    summary: str,
    data: dict[str, Any],
    objective_key: str = "",
) -> Event | None:
    """Store an event once; None when its key is already known (nothing else happens)."""
    key = key[:200]
    if Event.objects.filter(idempotency_key=key).exists():
        return None
    payload = {"agreement": agreement.key, "customer": agreement.customer.key, **data}
    try:
        with transaction.atomic():
            event = Event.objects.create(
                agreement=agreement,
                type=type,
                objective_key=objective_key,
                occurred_at=occurred_at,
                summary=summary[:300],
                payload=json.loads(json.dumps(payload, default=str)),
                idempotency_key=key,
                created_at=timezone.now(),
            )
            _queue_email(event)
            _queue_webhooks(event)
    except IntegrityError:
        # Another worker stored it between our check and our insert: still exactly once.
        if Event.objects.filter(idempotency_key=key).exists():
            return None
        raise
    return event


def event_payload(event: Event) -> dict[str, Any]:
    """The JSON body of a webhook delivery."""
    return {
        "id": str(event.uid),
        "type": event.type,
        "time": _iso(event.occurred_at),
        "agreement": event.agreement.key,
        "data": event.payload,
    }


@transaction.atomic
def objective_status_changed(
    *, period_id: int, objective_key: str, current: str, at: dt.datetime
) -> Event | None:
    """An open period's objective changed status: at risk, breached or recovered.

    The last status per period and objective is kept here, so the same change reported
    again (another recompute, a re-sent signal, a second worker) raises nothing, and a
    second breach after a recovery is a new episode with its own event.
    """
    period = Period.objects.select_related("agreement__customer").get(pk=period_id)
    if period.is_closed:
        # Reported before the period closed and handled after: closing settled it (and
        # resolved its escalations), so a late report starts nothing.
        return None
    ObjectiveState.objects.get_or_create(
        period=period, objective_key=objective_key, defaults={"status": "", "changed_at": at}
    )
    state = ObjectiveState.objects.select_for_update().get(
        period=period, objective_key=objective_key
    )
    if state.status == current or at < state.changed_at:
        return None  # the same change again, or a stale report overtaken by a newer one
    previous = state.status
    type = _objective_event_type(previous, current)
    state.status, state.changed_at = current, at
    if type is not None:
        state.episode += 1
    state.save()
    if current != "breached":
        for escalation in Escalation.objects.filter(
            period=period, objective_key=objective_key, resolved_at__isnull=True
        ):
            escalation_resolve(escalation=escalation, reason=f"objective {current}", now=at)
    if type is None:
        return None
    agreement = period.agreement
    evaluation: dict[str, Any] = dict(
        Evaluation.objects.filter(
            period=period, revision=period.revision, objective_key=objective_key
        )
        .values("achieved", "target", "budget_remaining_percent")
        .first()
        or {}
    )
    words: dict[str, str] = {
        EventType.OBJECTIVE_AT_RISK: "is at risk",
        EventType.OBJECTIVE_BREACHED: "is breached",
        EventType.OBJECTIVE_RECOVERED: "has recovered",
    }
    event = record_event(
        agreement=agreement,
        type=type,
        key=f"{type}:{period.pk}:{objective_key}:{state.episode}",
        occurred_at=at,
        objective_key=objective_key,
        summary=f"{objective_key} {words[type]} in {period.period}",
        data={
            "period": period.period,
            "objective": objective_key,
            "status": current,
            "previous": previous or None,
            "achieved": _number(evaluation.get("achieved")),
            "target": _number(evaluation.get("target")),
            "budget_remaining_percent": _number(evaluation.get("budget_remaining_percent")),
        },
    )
    if event is not None and type == EventType.OBJECTIVE_BREACHED:
        escalation_start(
            event=event,
            kind=Escalation.Kind.BREACH,
            subject=f"{agreement.key}: {objective_key} breached in {period.period}",
            period=period,
            objective_key=objective_key,
        )
    return event


def _objective_event_type(previous: str, current: str) -> str | None:
    if current == "breached":
        return EventType.OBJECTIVE_BREACHED
    if current == "at_risk":
        return (
            EventType.OBJECTIVE_RECOVERED if previous == "breached" else EventType.OBJECTIVE_AT_RISK
        )
    if current == "met" and previous in ("at_risk", "breached"):
        return EventType.OBJECTIVE_RECOVERED
    return None


def _agreements_of_service(service_id: int) -> list[Agreement]:
    return list(
        Agreement.objects.filter(objectives__service_id=service_id)
        .select_related("customer")
        .distinct()
        .order_by("key")
    )


def _fingerprint(changes: dict[str, Any]) -> str:
    raw = json.dumps(changes, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@transaction.atomic
def incident_changed(*, incident_id: int, created: bool, changes: dict[str, Any]) -> list[Event]:
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        return []
    now = timezone.now()
    data = {
        "incident": {
            "external_id": incident.external_id,
            "service": incident.service.key,
            "title": incident.title,
            "impact": incident.impact,
            "started_at": _iso(incident.started_at),
            "resolved_at": _iso(incident.resolved_at),
        },
        "changes": changes,
    }
    raised: list[Event] = []
    for agreement in _agreements_of_service(incident.service_id):
        base = f"{incident.pk}:{agreement.pk}"
        todo: list[tuple[str, str, dt.datetime, str]] = []
        if created:
            todo.append(
                (
                    EventType.INCIDENT_OPENED,
                    f"incident.opened:{base}",
                    incident.started_at,
                    f"incident opened: {incident.title}",
                )
            )
        elif set(changes) - {"resolved_at"} or (
            "resolved_at" in changes and incident.resolved_at is None
        ):
            todo.append(
                (
                    EventType.INCIDENT_UPDATED,
                    f"incident.updated:{base}:{_fingerprint(changes)}:{_iso(incident.updated_at)}",
                    now,
                    f"incident updated: {incident.title}",
                )
            )
        if incident.resolved_at is not None and (created or "resolved_at" in changes):
            todo.append(
                (
                    EventType.INCIDENT_RESOLVED,
                    f"incident.resolved:{base}:{_iso(incident.resolved_at)}",
                    incident.resolved_at,
                    f"incident resolved: {incident.title}",
                )
            )
        for type, key, at, summary in todo:
            event = record_event(
                agreement=agreement,
                type=type,
                key=key,
                occurred_at=at,
                summary=summary,
                data=data,
            )
            if event is not None:
                raised.append(event)
        open_escalations = Escalation.objects.filter(
            agreement=agreement, incident=incident, resolved_at__isnull=True
        )
        if incident.resolved_at is not None:
            for escalation in open_escalations:
                escalation_resolve(escalation=escalation, reason="incident resolved", now=now)
        elif incident.impact == Incident.Impact.OUTAGE and not open_escalations.exists():
            trigger = next(
                (e for e in raised if e.agreement_id == agreement.pk),
                None,
            )
            if trigger is not None:
                escalation_start(
                    event=trigger,
                    kind=Escalation.Kind.OUTAGE,
                    subject=f"{agreement.key}: outage on {incident.service.key}: {incident.title}",
                    incident=incident,
                )
    return raised


@transaction.atomic
def maintenance_changed(
    *, maintenance_id: int, created: bool, changes: dict[str, Any]
) -> list[Event]:
    window = Maintenance.objects.select_related("service").filter(pk=maintenance_id).first()
    if window is None or not (created or {"start", "end"} & set(changes)):
        return []
    raised = []
    for agreement in _agreements_of_service(window.service_id):
        event = record_event(
            agreement=agreement,
            type=EventType.MAINTENANCE_SCHEDULED,
            key=f"maintenance.scheduled:{window.pk}:{agreement.pk}:{_iso(window.start)}:{_iso(window.end)}",
            occurred_at=window.announced_at if created else timezone.now(),
            summary=f"maintenance {'scheduled' if created else 'rescheduled'}: {window.title}",
            data=_maintenance_data(window),
        )
        if event is not None:
            raised.append(event)
    return raised


def _maintenance_data(window: Maintenance) -> dict[str, Any]:
    return {
        "maintenance": {
            "external_id": window.external_id,
            "service": window.service.key,
            "title": window.title,
            "start": _iso(window.start),
            "end": _iso(window.end),
            "announced_at": _iso(window.announced_at),
        }
    }


def maintenance_tick(*, now: dt.datetime) -> list[Event]:
    """Raise started/finished for windows that began or ended (periodic, idempotent)."""
    raised = []
    windows = Maintenance.objects.select_related("service").filter(
        start__lte=now, end__gt=now - MAINTENANCE_LOOKBACK
    )
    for window in windows:
        agreements = _agreements_of_service(window.service_id)
        steps = [(EventType.MAINTENANCE_STARTED, window.start, "started")]
        if window.end <= now:
            steps.append((EventType.MAINTENANCE_FINISHED, window.end, "finished"))
        for type, at, word in steps:
            for agreement in agreements:
                with transaction.atomic():
                    event = record_event(
                        agreement=agreement,
                        type=type,
                        key=f"{type}:{window.pk}:{agreement.pk}:{_iso(at)}",
                        occurred_at=at,
                        summary=f"maintenance {word}: {window.title}",
                        data=_maintenance_data(window),
                    )
                if event is not None:
                    raised.append(event)
    return raised


@transaction.atomic
def period_closed(*, period_id: int, at: dt.datetime) -> Event | None:
    period = Period.objects.select_related("agreement__customer").get(pk=period_id)
    for escalation in Escalation.objects.filter(period=period, resolved_at__isnull=True):
        escalation_resolve(escalation=escalation, reason="period closed", now=at)
    agreement = period.agreement
    amount = period.credit_amount
    return record_event(
        agreement=agreement,
        type=EventType.PERIOD_CLOSED,
        key=f"period.closed:{period.pk}:r{period.revision}",
        occurred_at=at,
        summary=f"{period.period} closed: credit {amount or 0:.2f} {agreement.currency}",
        data={
            "period": period.period,
            "revision": period.revision,
            "credit": {"amount": f"{amount or 0:.2f}", "currency": agreement.currency},
            "objectives": dict(
                Evaluation.objects.filter(period=period, revision=period.revision).values_list(
                    "objective_key", "status"
                )
            ),
        },
    )


@transaction.atomic
def credit_entered(*, entry_id: int) -> Event | None:
    entry = (
        LedgerEntry.objects.select_related("agreement__customer", "period")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None or entry.kind != LedgerEntry.Kind.CREDIT:
        return None
    period = entry.period.period if entry.period else None
    return record_event(
        agreement=entry.agreement,
        type=EventType.CREDIT_ISSUED,
        key=f"credit.issued:{entry.pk}",
        occurred_at=entry.created_at,
        summary=f"credit of {entry.amount:.2f} {entry.currency} issued"
        + (f" for {period}" if period else ""),
        data={
            "period": period,
            "credit": {"amount": f"{entry.amount:.2f}", "currency": entry.currency},
            "reason": entry.reason,
        },
    )


CLAIM_EVENTS = {
    Claim.State.CLAIMABLE: (EventType.CREDIT_CLAIMABLE, "credit of {amount} claimable for {p}"),
    Claim.State.APPROVED: (EventType.CLAIM_APPROVED, "claim of {amount} for {p} approved"),
    Claim.State.REJECTED: (EventType.CLAIM_REJECTED, "claim of {amount} for {p} rejected"),
}


@transaction.atomic
def claim_changed(*, claim_id: int, state: str, at: dt.datetime) -> Event | None:
    if state not in CLAIM_EVENTS:
        return None
    claim = (
        Claim.objects.select_related("agreement__customer", "period").filter(pk=claim_id).first()
    )
    if claim is None:
        return None
    type, words = CLAIM_EVENTS[Claim.State(state)]
    amount = f"{claim.amount:.2f} {claim.currency}"
    return record_event(
        agreement=claim.agreement,
        type=type,
        key=f"{type}:{claim.pk}",
        occurred_at=at,
        summary=words.format(amount=amount, p=claim.period.period),
        data={
            "period": claim.period.period,
            "claim": {
                "id": claim.pk,
                "state": state,
                "amount": f"{claim.amount:.2f}",
                "currency": claim.currency,
                "claimable_until": _iso(claim.claimable_until),
                "reason": claim.reason,
            },
        },
    )


# --- Escalation ---------------------------------------------------------------------


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
    from notifications.tasks import advance_escalation

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


# --- Email digests ------------------------------------------------------------------


def wanted_events(preference: Preference | None) -> list[str]:
    return list(preference.events) if preference is not None else list(DEFAULT_EMAIL_EVENTS)


def _queue_email(event: Event) -> None:
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
        from notifications.tasks import send_digests

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
    return sum(send_digest(recipient=r, now=now) for r in list(due))


@transaction.atomic
def send_digest(*, recipient: str, now: dt.datetime) -> int:
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
    chosen = [t for t in EventType.values if t in set(events)]
    preference, _ = Preference.objects.update_or_create(
        agreement=agreement, user=user, defaults={"events": chosen}
    )
    return preference


# --- Webhooks -----------------------------------------------------------------------


def webhook_register(
    *, customer: Any, url: str, events: list[str], actor: str, description: str = ""
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        customer=customer,
        url=url,
        events=[t for t in EventType.values if t in set(events)],
        description=description,
        created_by=actor[:150],
    )


def _queue_webhooks(event: Event) -> None:
    endpoints = [
        e
        for e in WebhookEndpoint.objects.active().filter(customer_id=event.agreement.customer_id)
        if e.wants(event.type)
    ]
    if not endpoints:
        return
    from notifications.tasks import deliver_webhook

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
    from notifications.tasks import deliver_webhook

    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.is_active:
        return False
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WebhookDelivery.State.PENDING, finished_at=None
    )
    transaction.on_commit(partial(deliver_webhook.delay, delivery.pk))
    return True


def webhook_enable(*, endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0
    )


def webhook_disable(*, endpoint_id: int, reason: str, now: dt.datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:300]
    )
