"""Uptime Kuma webhook notifications (SPEC §4, Integrations).

The body is Uptime Kuma's webhook notification in its JSON form: ``heartbeat``
(``monitorID``, ``status`` 0 down / 1 up / 2 pending / 3 maintenance, ``time`` as
"YYYY-MM-DD HH:MM:SS(.fff)" in UTC without an offset, ``msg``), ``monitor`` (``id``,
``name``) and ``msg``. Its test notification carries neither heartbeat nor monitor.

A DOWN beat opens an outage for the monitor's service (its name, through the
integration's mappings) unless one is already open for that monitor; the next UP beat
resolves it. Pending and maintenance beats do neither.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from integrations.payloads import (
    UTC,
    Incident,
    Lookup,
    Malformed,
    Translation,
    instant,
    member,
    obj,
    string,
    title,
)

DOWN, UP, PENDING, MAINTENANCE = 0, 1, 2, 3
_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")


def external_prefix(monitor_id: int) -> str:
    return f"uptime-kuma-{monitor_id}@"


def translate(body: Any, lookup: Lookup) -> Translation:
    """The incident a heartbeat opens or resolves; raises ``Malformed``."""
    payload = obj(body, "body")
    out = Translation()
    heartbeat = payload.get("heartbeat")
    if heartbeat is None:
        out.skip(0, "a test notification (no heartbeat): nothing to store")
        return out
    beat = obj(heartbeat, "heartbeat")
    monitor = obj(member(payload, "monitor", ""), "monitor")
    status = member(beat, "status", "heartbeat")
    if isinstance(status, bool) or status not in (DOWN, UP, PENDING, MAINTENANCE):
        raise Malformed("heartbeat.status", "must be 0 (down), 1 (up), 2 (pending) or 3")
    monitor_id = member(beat, "monitorID", "heartbeat")
    if isinstance(monitor_id, bool) or not isinstance(monitor_id, int) or monitor_id < 0:
        raise Malformed("heartbeat.monitorID", "must be a whole number")
    at = _time(member(beat, "time", "heartbeat"))
    name = string(member(monitor, "name", "monitor"), "monitor.name")
    if status == PENDING:
        out.skip(0, "a pending beat neither opens nor resolves an outage")
        return out
    if status == MAINTENANCE:
        out.skip(0, "a maintenance beat neither opens nor resolves an outage")
        return out
    service = lookup.service(name)
    if service is None:
        out.skip(0, lookup.unknown(name))
        return out
    prefix = external_prefix(monitor_id)
    open_now = lookup.open_incidents(lookup.services[service], prefix)
    paths = {"service": "monitor.name", "started_at": "heartbeat.time"}
    if status == DOWN:
        if open_now:
            out.skip(0, f"monitor {name!r} is already down since {open_now[0][1].isoformat()}")
            return out
        record = {
            "service": service,
            "external_id": f"{prefix}{at.isoformat()}",
            "title": title(f"{name} down: {beat.get('msg') or ''}".rstrip(": "), name),
            "impact": "outage",
            "started_at": instant(at),
            "resolved_at": None,
        }
        out.incidents.append(Incident(0, record, paths))
        return out
    if not open_now:
        out.skip(0, f"monitor {name!r} has no open outage to resolve")
        return out
    external_id, started, old_title, impact = open_now[0]
    if at < started:
        out.skip(0, f"the up beat is older than the outage it would resolve ({started})")
        return out
    record = {
        "service": service,
        "external_id": external_id,
        "title": old_title,
        "impact": impact,
        "started_at": instant(started),
        "resolved_at": instant(at),
    }
    out.incidents.append(Incident(0, record, {**paths, "resolved_at": "heartbeat.time"}))
    return out


def _time(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise Malformed("heartbeat.time", "must be 'YYYY-MM-DD HH:MM:SS' (UTC)")
    try:
        return dt.datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC)
    except ValueError:
        raise Malformed("heartbeat.time", f"{value!r} is not a valid time") from None
