"""Events of the metrics layer: incidents and maintenance windows of a service.

Each is raised once per agreement with an objective on the service. An ``outage``
incident also starts an escalation, which its resolution resolves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements.models import Agreement
from metrics.models import Incident, Maintenance
from notifications.models import Escalation, Event, EventType
from notifications.services.escalation import escalation_resolve, escalation_start
from notifications.services.events import record_event
from notifications.services.payloads import iso_utc

# Maintenance that ended longer ago than this is history, not news (e.g. back-filled data).
MAINTENANCE_LOOKBACK = dt.timedelta(hours=24)


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
    """Raise the opened/updated/resolved events of an incident for each agreement it touches.

    ``changes`` maps the changed field names to their new values (as the metrics signal
    sends them). Returns the events newly raised, in order; an unknown incident (deleted
    since) raises none. An ``outage`` starts an escalation per agreement unless one is
    open already; resolving the incident resolves them.
    """
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        return []
    now = timezone.now()
    data = _incident_data(incident, changes)
    raised: list[Event] = []
    for agreement in _agreements_of_service(incident.service_id):
        steps = _incident_steps(incident, agreement, created=created, changes=changes, now=now)
        for type, key, at, summary in steps:
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
        _escalate_incident(incident, agreement, raised=raised, now=now)
    return raised


def _incident_data(incident: Incident, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "incident": {
            "external_id": incident.external_id,
            "service": incident.service.key,
            "title": incident.title,
            "impact": incident.impact,
            "started_at": iso_utc(incident.started_at),
            "resolved_at": iso_utc(incident.resolved_at),
        },
        "changes": changes,
    }


def _incident_steps(
    incident: Incident,
    agreement: Agreement,
    *,
    created: bool,
    changes: dict[str, Any],
    now: dt.datetime,
) -> list[tuple[str, str, dt.datetime, str]]:
    """The events this change calls for: (type, idempotency key, occurred at, summary)."""
    base = f"{incident.pk}:{agreement.pk}"
    steps: list[tuple[str, str, dt.datetime, str]] = []
    if created:
        steps.append(
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
        steps.append(
            (
                EventType.INCIDENT_UPDATED,
                f"incident.updated:{base}:{_fingerprint(changes)}:{iso_utc(incident.updated_at)}",
                now,
                f"incident updated: {incident.title}",
            )
        )
    if incident.resolved_at is not None and (created or "resolved_at" in changes):
        steps.append(
            (
                EventType.INCIDENT_RESOLVED,
                f"incident.resolved:{base}:{iso_utc(incident.resolved_at)}",
                incident.resolved_at,
                f"incident resolved: {incident.title}",
            )
        )
    return steps


def _escalate_incident(
    incident: Incident, agreement: Agreement, *, raised: list[Event], now: dt.datetime
) -> None:
    """Resolve the agreement's escalations of a resolved incident, or start one for an
    outage, triggered by the first event just raised for this agreement."""
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


@transaction.atomic
def maintenance_changed(
    *, maintenance_id: int, created: bool, changes: dict[str, Any]
) -> list[Event]:
    """Raise ``maintenance.scheduled`` when a window is announced or moved.

    Returns the events newly raised (one per agreement on the service); a change that
    moves neither start nor end, or an unknown window, raises none.
    """
    window = Maintenance.objects.select_related("service").filter(pk=maintenance_id).first()
    if window is None or not (created or {"start", "end"} & set(changes)):
        return []
    raised = []
    for agreement in _agreements_of_service(window.service_id):
        event = record_event(
            agreement=agreement,
            type=EventType.MAINTENANCE_SCHEDULED,
            key=f"maintenance.scheduled:{window.pk}:{agreement.pk}:{iso_utc(window.start)}:{iso_utc(window.end)}",
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
            "start": iso_utc(window.start),
            "end": iso_utc(window.end),
            "announced_at": iso_utc(window.announced_at),
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
                        key=f"{type}:{window.pk}:{agreement.pk}:{iso_utc(at)}",
                        occurred_at=at,
                        summary=f"maintenance {word}: {window.title}",
                        data=_maintenance_data(window),
                    )
                if event is not None:
                    raised.append(event)
    return raised
