"""PagerDuty V3 webhooks (SPEC §4, Integrations).

The body is PagerDuty's V3 webhook event: ``event.event_type``, ``event.occurred_at``
and the incident under ``event.data`` (``id``, ``title``, ``created_at``, ``service``
with ``id`` and ``summary``, ``priority`` with ``summary`` or null, ``urgency``). It is
signed: ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>``, possibly several
signatures separated by commas while a secret is being rotated.

``incident.triggered`` opens an incident (external id ``pagerduty-<id>``) from
``occurred_at``; ``incident.resolved`` resolves the open one at ``occurred_at``;
``incident.reopened`` opens a new one from ``occurred_at`` (the time in between was
resolved). The service is ``data.service.summary`` or ``data.service.id``, through the
integration's mappings; the impact is outage when the priority's summary or the urgency
is one the integration names (default ``high``). Other event types are skipped.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from integrations.payloads import (
    Incident,
    Lookup,
    Translation,
    instant,
    member,
    obj,
    rfc3339,
    string,
    title,
)

TRIGGERED, RESOLVED, REOPENED = "incident.triggered", "incident.resolved", "incident.reopened"


def signature_valid(body: bytes, header: str, secrets: list[str]) -> bool:
    """Whether one of the ``v1=`` signatures of ``header`` is the HMAC-SHA256 of ``body``
    under one of ``secrets`` (PagerDuty, "Verifying Signatures"); compared in constant
    time."""
    offered = [
        part.strip()[3:] for part in header.split(",") if part.strip().lower().startswith("v1=")
    ]
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, sig.lower()) for sig in offered):
            return True
    return False


def sign(body: bytes, secret: str) -> str:
    """The header value PagerDuty sends for ``body`` under ``secret``."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def translate(body: Any, lookup: Lookup) -> Translation:
    """The incident a PagerDuty event opens or resolves; raises ``Malformed``."""
    event = obj(member(obj(body, "body"), "event", ""), "event")
    out = Translation()
    event_type = member(event, "event_type", "event")
    if event_type not in (TRIGGERED, RESOLVED, REOPENED):
        out.skip(0, f"event type {str(event_type)[:60]!r} means nothing here")
        return out
    occurred = rfc3339(member(event, "occurred_at", "event"), "event.occurred_at")
    data = obj(member(event, "data", "event"), "event.data")
    incident_id = string(member(data, "id", "event.data"), "event.data.id", max_length=60)
    service_ref = obj(member(data, "service", "event.data"), "event.data.service")
    names = [service_ref.get("summary"), service_ref.get("id")]
    service = next((s for n in names if isinstance(n, str) and (s := lookup.service(n))), None)
    if service is None:
        out.skip(0, lookup.unknown(names[0] if isinstance(names[0], str) else names[1]))
        return out
    prefix = f"pagerduty-{incident_id}"
    open_now = lookup.open_incidents(lookup.services[service], prefix)
    paths = {"service": "event.data.service.summary", "started_at": "event.occurred_at"}
    if event_type == RESOLVED:
        return _resolve(out, data, service, prefix, open_now, occurred, paths)
    if open_now:
        out.skip(0, f"incident {incident_id} is already open since {open_now[0][1].isoformat()}")
        return out
    external_id = prefix if event_type == TRIGGERED else f"{prefix}@{occurred.isoformat()}"
    record = {
        "service": service,
        "external_id": external_id,
        "title": title(data.get("title"), f"PagerDuty incident {incident_id}"),
        "impact": _impact(data, lookup),
        "started_at": instant(occurred),
        "resolved_at": None,
    }
    out.incidents.append(Incident(0, record, paths))
    return out


def _resolve(
    out: Translation,
    data: dict[str, Any],
    service: str,
    prefix: str,
    open_now: list[Any],
    occurred: Any,
    paths: dict[str, str],
) -> Translation:
    if not open_now:
        out.skip(0, f"incident {prefix[len('pagerduty-') :]} has no open incident to resolve")
        return out
    external_id, started, old_title, impact = open_now[0]
    record = {
        "service": service,
        "external_id": external_id,
        "title": old_title,
        "impact": impact,
        "started_at": instant(started),
        "resolved_at": instant(max(occurred, started)),
    }
    out.incidents.append(Incident(0, record, {**paths, "resolved_at": "event.occurred_at"}))
    return out


def _impact(data: dict[str, Any], lookup: Lookup) -> str:
    priority = data.get("priority")
    words = [priority.get("summary") if isinstance(priority, dict) else None, data.get("urgency")]
    hit = any(isinstance(w, str) and w.lower() in lookup.outage_words for w in words)
    return "outage" if hit else "degraded"
