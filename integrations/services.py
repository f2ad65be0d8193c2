"""Storing what a tool's webhook says, through the incidents ingestion path, and the
log of every delivery (SPEC §4, Integrations)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from agreements.models import ApiKey
from integrations import alertmanager, jira, pagerduty, uptime_kuma, zendesk
from integrations.models import BODY_KEPT_CHARS, DELIVERY_RETENTION, Delivery, Integration
from integrations.payloads import Lookup, Malformed, Translation
from integrations.tickets import Stored, TicketLookup
from metrics import ingest
from metrics.api import context_for, refusing_services
from metrics.models import Incident, Ticket
from metrics.services import Source
from metrics.services import ingest as store


@dataclass
class Outcome:
    """The answer to a delivery: its HTTP status and JSON body."""

    status: int
    body: dict[str, Any]
    accepted: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _translator(integration: Integration | None, kind: str) -> Callable[[Any, Lookup], Translation]:
    if kind == Integration.Kind.ALERTMANAGER:
        label = integration.service_label if integration is not None else "service"
        return lambda body, lookup: alertmanager.translate(body, lookup, service_label=label)
    if kind == Integration.Kind.UPTIME_KUMA:
        return uptime_kuma.translate
    return pagerduty.translate


def delivery_handle(
    *,
    kind: str,
    body: bytes,
    integration: Integration | None,
    key: ApiKey | None,
    endpoint: str,
) -> Outcome:
    """Turn a webhook ``body`` of ``kind`` (an ``Integration.Kind``) into incidents and
    store them with the incidents ingestion API's writer (summaries, timeline, signals,
    late flags and the ingestion log included).

    The measurements are recorded under the key's name, else the integration's; a
    service whose agreements name other sources (``measured_by``) skips its items. Returns
    200 ``{"accepted": n, "skipped": [{"index", "reason"}]}`` (``accepted`` counts
    incidents created or changed, so a body sent twice accepts 0 the second time), or 400
    naming the tool's field when the body is not what the tool documents, with nothing
    stored.
    """
    try:
        payload = json.loads(body.decode("utf-8"))  # RFC 8259 §8.1: JSON exchanged is UTF-8
    except UnicodeDecodeError:
        return _malformed(Malformed("body", "is not text in UTF-8"))
    except RecursionError:
        return _malformed(Malformed("body", "nests too deeply to be a webhook body"))
    except ValueError as error:
        return _malformed(Malformed("body", f"is not valid JSON: {str(error)[:200]}"))
    if kind in TICKET_KINDS:
        return _tickets_handle(kind, payload, integration, key, endpoint)
    ctx = context_for(key, csv=False, kind="incidents")
    lookup = _lookup(integration, kind, ctx)
    try:
        translation = _translator(integration, kind)(payload, lookup)
    except Malformed as error:
        return _malformed(error)
    if len(translation.incidents) > ingest.MAX_RECORDS:
        message = (
            f"a delivery holds at most {ingest.MAX_RECORDS} alerts or events; "
            f"this one holds {len(translation.incidents)}"
        )
        return Outcome(
            413,
            {
                "error": f"nothing stored: {message}",
                "errors": [{"index": None, "field": "body", "message": message}],
            },
        )
    skipped = list(translation.skipped)
    _skip_stale_openings(translation, lookup, skipped)
    rows: list[Any] = []
    if translation.incidents:
        try:
            rows = ingest.validate_batch(
                ingest.INCIDENTS, [i.record for i in translation.incidents], ctx
            )
        except ingest.BatchInvalid as error:
            return _invalid(translation, error)
    source = key.name if key is not None else integration.name if integration else kind
    refused = refusing_services(source, {row.service_id for row in rows}) if rows else set()
    kept = []
    for item, row in zip(translation.incidents, rows, strict=True):
        if row.service_id in refused:
            skipped.append(
                {
                    "index": item.index,
                    "reason": f"service {item.record['service']!r} accepts measurements only "
                    f"from the sources its agreements name (measured_by); {source!r} is not "
                    "one of them",
                }
            )
        else:
            kept.append(row)
    accepted = 0
    if kept:
        result = store(
            "incidents",
            rows=kept,
            closed=ctx.closed_services,  # type: ignore[attr-defined]
            source=Source(name=source, endpoint=endpoint, api_key_id=key.pk if key else None),
        )
        accepted = result.accepted
    skipped.sort(key=lambda s: s["index"])
    return Outcome(200, {"accepted": accepted, "skipped": skipped}, accepted, skipped)


def _skip_stale_openings(
    translation: Translation, lookup: Lookup, skipped: list[dict[str, Any]]
) -> None:
    """Drop the items that would reopen an incident already resolved: a firing alert, a
    down beat or a triggered event sent again (a retry, a replay, a late delivery) after
    its resolution changes nothing, since no tool sends the resolution twice. One query
    for the whole delivery."""
    opening = [
        item
        for item in translation.incidents
        if item.record.get("resolved_at") is None
        and isinstance(item.record.get("service"), str)
        and item.record["service"] in lookup.services
    ]
    if not opening:
        return
    resolved = {
        (sid, eid): at
        for sid, eid, at in Incident.objects.filter(
            service_id__in={lookup.services[i.record["service"]] for i in opening},
            external_id__in={str(i.record.get("external_id")) for i in opening},
            resolved_at__isnull=False,
        ).values_list("service_id", "external_id", "resolved_at")
    }
    stale = set()
    for item in opening:
        at = resolved.get((lookup.services[item.record["service"]], item.record["external_id"]))
        if at is not None:
            stale.add(id(item))
            skipped.append(
                {
                    "index": item.index,
                    "reason": f"incident {item.record['external_id']!r} was resolved at "
                    f"{at.isoformat()}; a repeated or late opening notice changes nothing",
                }
            )
    translation.incidents = [i for i in translation.incidents if id(i) not in stale]


TICKET_KINDS: dict[str, Callable[[Any, TicketLookup], Translation]] = {
    Integration.Kind.JIRA: jira.translate,
    Integration.Kind.ZENDESK: zendesk.translate,
}


def ticket_translation(
    kind: str,
    payload: Any,
    integration: Integration | None,
    ctx: ingest.Context,
    *,
    mapped_customers: dict[str, str] | None = None,
    mapped_priorities: dict[str, str] | None = None,
) -> Translation:
    """The tickets a ticketing tool's ``payload`` becomes under the integration's
    mappings (or those given, for a preview); raises ``Malformed``. Stores nothing."""
    if mapped_customers is None:
        mapped_customers = (
            dict(integration.customer_mappings.values_list("external_name", "customer__key"))
            if integration is not None
            else {}
        )
    if mapped_priorities is None:
        mapped_priorities = (
            dict(integration.priority_mappings.values_list("external_name", "priority"))
            if integration is not None
            else {}
        )
    waiting = (integration or Integration(kind=kind)).waiting_words()
    lookup = TicketLookup(
        customers=ctx.customers,
        mapped_customers=mapped_customers,
        mapped_priorities=mapped_priorities,
        waiting=waiting,
        stored=_stored_ticket,
        now=ctx.now,
    )
    return TICKET_KINDS[kind](payload, lookup)


def _tickets_handle(
    kind: str, payload: Any, integration: Integration | None, key: ApiKey | None, endpoint: str
) -> Outcome:
    ctx = context_for(key, csv=False, kind="tickets")
    try:
        translation = ticket_translation(kind, payload, integration, ctx)
    except Malformed as error:
        return _malformed(error)
    accepted = 0
    if translation.tickets:
        try:
            rows = ingest.validate_batch(
                ingest.TICKETS, [t.record for t in translation.tickets], ctx
            )
        except ingest.BatchInvalid as error:
            return _invalid(translation, error, translation.tickets)
        source = key.name if key is not None else integration.name if integration else kind
        result = store(
            "tickets",
            rows=rows,
            closed=ctx.closed_customers,  # type: ignore[attr-defined]
            source=Source(name=source, endpoint=endpoint, api_key_id=key.pk if key else None),
        )
        accepted = result.accepted
    skipped = sorted(translation.skipped, key=lambda s: s["index"])
    return Outcome(200, {"accepted": accepted, "skipped": skipped}, accepted, skipped)


def _stored_ticket(customer_id: int, external_id: str) -> Stored | None:
    row = (
        Ticket.objects.filter(customer_id=customer_id, external_id=external_id)
        .values_list("opened_at", "first_response_at", "resolved_at", "paused")
        .first()
    )
    return None if row is None else (row[0], row[1], row[2], list(row[3] or []))


def _lookup(integration: Integration | None, kind: str, ctx: ingest.Context) -> Lookup:
    mapped: dict[str, str] = {}
    if integration is not None:
        mapped = dict(integration.mappings.values_list("external_name", "service__key"))
    words = (
        integration.outage_words()
        if integration is not None
        else Integration(kind=kind).outage_words()
    )
    return Lookup(
        services=ctx.services,
        mapped=mapped,
        open_incidents=_open_incidents,
        now=ctx.now,
        outage_words=words,
    )


def _open_incidents(service_id: int, prefix: str) -> list[tuple[str, dt.datetime, str, str]]:
    """The service's unresolved incidents whose external id is ``prefix`` or, when the
    prefix does not already end in "@", ``prefix@…`` (so "pagerduty-Q" never matches
    "pagerduty-Q1"), newest first. Compared exactly: SQLite's LIKE ignores case."""
    ids = Q(external_id__startswith=prefix)
    if not prefix.endswith("@"):
        ids = Q(external_id=prefix) | Q(external_id__startswith=f"{prefix}@")
    found = (
        Incident.objects.filter(ids, service_id=service_id, resolved_at__isnull=True)
        .order_by("-started_at")
        .values_list("external_id", "started_at", "title", "impact")
    )
    return [
        row
        for row in found
        if row[0] == prefix or row[0].startswith(prefix if prefix.endswith("@") else f"{prefix}@")
    ]


def _malformed(error: Malformed) -> Outcome:
    return Outcome(
        400,
        {
            "error": f"nothing stored: {error.field}: {error.message}",
            "errors": [{"index": None, "field": error.field, "message": error.message}],
        },
    )


def _invalid(
    translation: Translation, error: ingest.BatchInvalid, items: list[Any] | None = None
) -> Outcome:
    items = translation.incidents if items is None else items
    errors = []
    for problem in error.errors:
        item = items[problem["index"]] if problem["index"] is not None else None
        where = item.paths.get(problem["field"], problem["field"]) if item else problem["field"]
        errors.append(
            {"index": item.index if item else None, "field": where, "message": problem["message"]}
        )
    first = errors[0]
    return Outcome(
        400,
        {"error": f"nothing stored: {first['field']}: {first['message']}", "errors": errors},
    )


def delivery_record(
    *,
    kind: str,
    integration: Integration | None,
    source: str,
    status_code: int,
    body: bytes,
    outcome: dict[str, Any],
) -> Delivery:
    """Log one delivery for staff: when, from whom, the answer, and the start of the body.

    A delivery refused before its sender was known (401, 403) keeps no body: anyone can
    send those, and they must not fill the log with what they like."""
    text = body[: BODY_KEPT_CHARS * 4].decode("utf-8", errors="replace")[:BODY_KEPT_CHARS]
    if status_code in (401, 403):
        text = ""
    return Delivery.objects.create(
        kind=kind,
        integration=integration,
        source=source[:100],
        status_code=status_code,
        accepted=outcome.get("accepted", 0) if status_code == 200 else 0,
        skipped=outcome.get("skipped", [])[:1000] if status_code == 200 else [],
        error=str(outcome.get("error", ""))[:2000] if status_code != 200 else "",
        body=text,
    )


def deliveries_prune(*, now: dt.datetime | None = None) -> int:
    """Delete deliveries older than 30 days; returns how many went."""
    cutoff = (now or timezone.now()) - DELIVERY_RETENTION
    deleted, _ = Delivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
