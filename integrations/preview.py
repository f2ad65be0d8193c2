"""What an integration's last deliveries would produce under changed mappings (SPEC §4,
Integrations: staff try a mapping before saving it). Nothing is stored.

The deliveries' bodies are translated again as they arrived, with the integration's
settings and the mappings given instead of the stored ones; a translation reads the
incidents and tickets as they are stored now (to find what a resolution resolves).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from integrations.models import Delivery, Integration
from integrations.payloads import Lookup, Malformed
from integrations.services import (
    TICKET_KINDS,
    _open_incidents,
    _translator,
    ticket_translation,
)
from metrics.api import context_for

PREVIEW_DELIVERIES = 20


@dataclass
class Preview:
    """One delivery and what it would become: records in the shape of the ingestion API
    (incidents or tickets), skipped items with their reasons, or why it cannot be read."""

    delivery: Delivery
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""


def parse_mapping(text: str, what: str) -> dict[str, str]:
    """Lines ``external name = our key`` (blank lines and ``#`` comments ignored) as a
    dict; raises ValueError naming the line."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        external, sep, ours = line.rpartition("=")
        if not sep or not external.strip() or not ours.strip():
            raise ValueError(f"{what}, line {number}: write 'external name = our key'")
        out[external.strip()] = ours.strip()
    return out


def mapping_text(pairs: Any) -> str:
    return "\n".join(f"{external} = {ours}" for external, ours in pairs)


def deliveries_preview(
    integration: Integration,
    *,
    services: dict[str, str],
    customers: dict[str, str],
    priorities: dict[str, str],
    limit: int = PREVIEW_DELIVERIES,
) -> list[Preview]:
    """The last ``limit`` deliveries of ``integration`` (newest first), each translated
    under the given mappings (external name → service key, customer key, priority)."""
    kind = integration.kind
    tickets = kind in TICKET_KINDS
    ctx = context_for(None, csv=False, kind="tickets" if tickets else "incidents")
    out = []
    for delivery in integration.deliveries.order_by("-received_at", "-pk")[:limit]:
        row = Preview(delivery)
        out.append(row)
        try:
            payload = json.loads(delivery.body)
        except ValueError:
            row.problem = "the body kept is not whole JSON: it cannot be translated again"
            continue
        try:
            if tickets:
                translation = ticket_translation(
                    kind,
                    payload,
                    integration,
                    ctx,
                    mapped_customers=customers,
                    mapped_priorities=priorities,
                )
            else:
                lookup = Lookup(
                    services=ctx.services,
                    mapped=services,
                    open_incidents=_open_incidents,
                    now=ctx.now,
                    outage_words=integration.outage_words(),
                )
                translation = _translator(integration, kind)(payload, lookup)
        except Malformed as error:
            row.problem = f"{error.field}: {error.message}"
            continue
        items = translation.tickets if tickets else translation.incidents
        row.records = [item.record for item in items]
        row.skipped = translation.skipped
    return out
