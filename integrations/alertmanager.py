"""Prometheus Alertmanager and Grafana alerting webhooks (SPEC §4, Integrations).

The body is the documented webhook payload (Alertmanager's ``webhook_config``, version
"4"; Grafana's webhook contact point sends the same ``alerts[]``): each alert has
``status`` ("firing" | "resolved"), ``labels``, ``annotations``, ``startsAt``, ``endsAt``
(the zero time "0001-01-01T00:00:00Z" while firing) and ``fingerprint``.

Each alert is one incident: ``external_id`` is the fingerprint and the start, so an
alert that fires again (a new ``startsAt``) is a new incident; the service is the label
``service`` (or the integration's label), through its mappings; ``impact`` is outage for
the severities the integration names (default ``critical``), else degraded; the title is
``annotations.summary``, else the label ``alertname``; ``resolved_at`` is ``endsAt`` once
the alert is resolved.
"""

from __future__ import annotations

from typing import Any

from integrations.payloads import (
    Incident,
    Lookup,
    Malformed,
    Translation,
    instant,
    member,
    obj,
    rfc3339,
    string,
    title,
)

STATUSES = ("firing", "resolved")


def translate(body: Any, lookup: Lookup, *, service_label: str = "service") -> Translation:
    """The incidents of an Alertmanager/Grafana webhook body; raises ``Malformed``."""
    payload = obj(body, "body")
    alerts = member(payload, "alerts", "")
    if not isinstance(alerts, list):
        raise Malformed("alerts", "must be a list of alerts")
    out = Translation()
    for index, raw in enumerate(alerts):
        out_item = _alert(index, raw, lookup, service_label)
        if isinstance(out_item, str):
            out.skip(index, out_item)
        else:
            out.incidents.append(out_item)
    return out


def _alert(index: int, raw: Any, lookup: Lookup, service_label: str) -> Incident | str:
    path = f"alerts[{index}]"
    alert = obj(raw, path)
    status = member(alert, "status", path)
    if status not in STATUSES:
        raise Malformed(f"{path}.status", "must be firing or resolved")
    labels = obj(member(alert, "labels", path), f"{path}.labels")
    annotations = obj(alert.get("annotations") or {}, f"{path}.annotations")
    fingerprint = string(member(alert, "fingerprint", path), f"{path}.fingerprint", max_length=64)
    started = rfc3339(member(alert, "startsAt", path), f"{path}.startsAt")
    ended = rfc3339(member(alert, "endsAt", path), f"{path}.endsAt")
    name = labels.get(service_label)
    if not isinstance(name, str) or not name:
        return f"the alert has no label {service_label!r} naming a service"
    service = lookup.service(name)
    if service is None:
        return lookup.unknown(name)
    severity = labels.get("severity")
    impact = (
        "outage"
        if isinstance(severity, str) and severity.lower() in lookup.outage_words
        else "degraded"
    )
    record = {
        "service": service,
        "external_id": f"{fingerprint}@{started.isoformat()}",
        "title": title(annotations.get("summary"), labels.get("alertname")),
        "impact": impact,
        "started_at": instant(started),
        # endsAt of a firing alert is the zero time or when it would expire: not an end.
        "resolved_at": instant(ended) if status == "resolved" else None,
    }
    paths = {
        "service": f"{path}.labels.{service_label}",
        "external_id": f"{path}.fingerprint",
        "title": f"{path}.annotations.summary",
        "started_at": f"{path}.startsAt",
        "resolved_at": f"{path}.endsAt",
    }
    return Incident(index, record, paths)
