"""Zendesk ticket event webhooks (SPEC §4, Integrations).

The body is a Zendesk webhook event (``zendesk_event_version`` 2022-06-20): ``type``
(``zen:event-type:ticket.<event>``), ``time``, ``detail`` (the ticket: ``id``,
``status``, ``priority``, ``organization_id``, ``requester_id``, ``created_at``) and
``event`` (for ``ticket.comment_added``: ``comment`` with ``is_public`` and
``author.id``). A webhook with a signing secret is signed:
``X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(timestamp + body))`` with the timestamp
in ``X-Zendesk-Webhook-Signature-Timestamp``.

Each ticket event stores the ticket (external id ``zendesk-<id>``): the customer from the
organisation id (identical to a customer key, or mapped), the priority by the
integration's mapping (unset: ``none``), ``resolved_at`` when the status is ``solved`` or
``closed`` (kept from the first such event), the first public comment by someone other
than the requester as the first response, and pauses while the status is one staff mark
as waiting (default ``pending`` and ``hold``). Other event types are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from integrations.payloads import Malformed, Translation, member, obj, rfc3339, string
from integrations.tickets import TicketLookup, ticket

PREFIX = "zen:event-type:ticket."
SOLVED = ("solved", "closed")


def signature_valid(body: bytes, signature: str, timestamp: str, secrets: list[str]) -> bool:
    """Whether ``signature`` is base64(HMAC-SHA256(timestamp + body)) under one of
    ``secrets`` (Zendesk, "Verifying webhook authenticity"); constant-time compare."""
    message = timestamp.encode() + body
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
        if hmac.compare_digest(expected, signature.strip().encode()):
            return True
    return False


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """The ``X-Zendesk-Webhook-Signature`` value Zendesk sends."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def translate(body: Any, lookup: TicketLookup) -> Translation:
    """The ticket an event creates or changes; raises ``Malformed``."""
    payload = obj(body, "body")
    out = Translation()
    kind = member(payload, "type", "")
    if not isinstance(kind, str) or not kind.startswith(PREFIX):
        out.skip(0, f"event type {str(kind)[:80]!r} is not a ticket event")
        return out
    at = rfc3339(member(payload, "time", ""), "time")
    detail = obj(member(payload, "detail", ""), "detail")
    ticket_id = _id(member(detail, "id", "detail"), "detail.id")
    status = string(member(detail, "status", "detail"), "detail.status", max_length=100)
    opened = rfc3339(member(detail, "created_at", "detail"), "detail.created_at")
    priority = detail.get("priority")
    if priority is not None and not isinstance(priority, str):
        raise Malformed("detail.priority", "must be a string or null")
    organization = detail.get("organization_id")
    org = (
        None if organization in (None, "", "0", 0) else _id(organization, "detail.organization_id")
    )
    response = _response(payload, detail, at)
    if org is None:
        out.skip(0, f"ticket {ticket_id} belongs to no organisation: no customer to store it under")
        return out
    customer = lookup.customer(org)
    if customer is None:
        out.skip(0, lookup.unknown("detail.organization_id", org))
        return out
    paths = {
        "customer": "detail.organization_id",
        "external_id": "detail.id",
        "priority": "detail.priority",
        "opened_at": "detail.created_at",
        "first_response_at": "time",
        "resolved_at": "time",
        "paused": "time",
    }
    stored = lookup.stored(lookup.customers[customer], f"zendesk-{ticket_id}")
    resolved = None
    if status.lower() in SOLVED:
        resolved = stored[2] if stored and stored[2] else at
    return ticket(
        out,
        lookup,
        customer=customer,
        external_id=f"zendesk-{ticket_id}",
        priority=lookup.priority(priority or "none"),
        opened_at=opened,
        status=status,
        at=max(at, opened),
        response_at=response,
        resolved_at=resolved,
        paths=paths,
    )


def _id(value: Any, path: str) -> str:
    """Zendesk ids come as strings in event webhooks, as numbers elsewhere."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise Malformed(path, "must be an id (a string or a whole number)")
    text = str(value).strip()
    if len(text) > 64:
        raise Malformed(path, "must be at most 64 characters")
    return text


def _response(payload: dict[str, Any], detail: dict[str, Any], at: Any) -> Any:
    if payload["type"] != PREFIX + "comment_added":
        return None
    event = obj(member(payload, "event", ""), "event")
    comment = obj(member(event, "comment", "event"), "event.comment")
    if comment.get("is_public") is False:
        return None
    author = obj(member(comment, "author", "event.comment"), "event.comment.author")
    if str(author.get("id")) == str(detail.get("requester_id")):
        return None
    return at
