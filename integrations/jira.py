"""Jira Service Management issue webhooks (SPEC §4, Integrations).

The body is Jira's webhook event: ``timestamp`` (milliseconds since the epoch),
``webhookEvent`` (``jira:issue_created``, ``jira:issue_updated``, ``comment_created``,
``comment_updated``), ``issue`` with ``key`` and ``fields`` (``project.key``,
``priority.name``, ``status.name``, ``created``, ``resolutiondate``,
``reporter.accountId``), and for a comment ``comment`` (``author.accountId``,
``created``, ``jsdPublic``). Jira writes times as ``2026-03-02T10:00:00.000+0000``. A
webhook with a secret is signed: ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw
body>`` (WebSub's method=signature).

Each event stores the issue as a ticket (external id the issue key): the customer from
the project key (identical to a customer key, or mapped), the priority by the
integration's mapping, ``resolved_at`` from ``resolutiondate``, the first public comment
by someone other than the reporter as the first response, and pauses while the status
is one staff mark as waiting (default "Waiting for customer"). Other events are skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from typing import Any

from integrations.payloads import UTC, Malformed, Translation, member, obj, rfc3339, string
from integrations.tickets import TicketLookup, ticket

EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created", "comment_updated")
_JIRA_TIME = re.compile(r"(.*T[^+-]*)([+-]\d{2})(\d{2})")


def signature_valid(body: bytes, header: str, secrets: list[str]) -> bool:
    """Whether ``header`` (``sha256=<hex>``) is the HMAC-SHA256 of ``body`` under one of
    ``secrets``; compared in constant time."""
    method, _, offered = header.strip().partition("=")
    if method.lower() != "sha256" or not offered:
        return False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, offered.lower()):
            return True
    return False


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value Jira sends for ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def jira_time(value: Any, path: str) -> dt.datetime:
    """A Jira timestamp (``+0000`` offsets without a colon) or an RFC 3339 one, in UTC."""
    if isinstance(value, str) and (match := _JIRA_TIME.fullmatch(value)):
        value = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    return rfc3339(value, path)


def translate(body: Any, lookup: TicketLookup) -> Translation:
    """The ticket an issue event creates or changes; raises ``Malformed``."""
    payload = obj(body, "body")
    out = Translation()
    event = member(payload, "webhookEvent", "")
    if event not in EVENTS:
        out.skip(0, f"webhook event {str(event)[:60]!r} means nothing here")
        return out
    issue = obj(member(payload, "issue", ""), "issue")
    key = string(member(issue, "key", "issue"), "issue.key", max_length=128)
    fields = obj(member(issue, "fields", "issue"), "issue.fields")
    project = obj(member(fields, "project", "issue.fields"), "issue.fields.project")
    project_key = string(member(project, "key", "issue.fields.project"), "issue.fields.project.key")
    status = obj(member(fields, "status", "issue.fields"), "issue.fields.status")
    status_name = string(member(status, "name", "issue.fields.status"), "issue.fields.status.name")
    priority_ref = fields.get("priority")
    priority_name = "none"
    if priority_ref is not None:
        priority_ref = obj(priority_ref, "issue.fields.priority")
        priority_name = string(
            member(priority_ref, "name", "issue.fields.priority"), "issue.fields.priority.name"
        )
    opened = jira_time(member(fields, "created", "issue.fields"), "issue.fields.created")
    resolution = fields.get("resolutiondate")
    resolved = None if resolution is None else jira_time(resolution, "issue.fields.resolutiondate")
    at = _event_time(payload, fields)
    response = _response(payload, fields)
    customer = lookup.customer(project_key)
    if customer is None:
        out.skip(0, lookup.unknown("issue.fields.project.key", project_key))
        return out
    paths = {
        "customer": "issue.fields.project.key",
        "external_id": "issue.key",
        "priority": "issue.fields.priority.name",
        "opened_at": "issue.fields.created",
        "first_response_at": "comment.created",
        "resolved_at": "issue.fields.resolutiondate",
        "paused": "timestamp",
    }
    return ticket(
        out,
        lookup,
        customer=customer,
        external_id=key,
        priority=lookup.priority(priority_name),
        opened_at=opened,
        status=status_name,
        at=max(at, opened),
        response_at=response,
        resolved_at=resolved,
        paths=paths,
    )


def _event_time(payload: dict[str, Any], fields: dict[str, Any]) -> dt.datetime:
    stamp = payload.get("timestamp")
    if stamp is None:
        return jira_time(member(fields, "updated", "issue.fields"), "issue.fields.updated")
    if isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < 0:
        raise Malformed("timestamp", "must be milliseconds since the epoch")
    try:
        return dt.datetime.fromtimestamp(stamp / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed("timestamp", "is out of range") from None


def _response(payload: dict[str, Any], fields: dict[str, Any]) -> dt.datetime | None:
    """The time of the event's comment when it is a reply to the customer: public
    (``jsdPublic`` not false) and by someone other than the reporter."""
    comment = payload.get("comment")
    if comment is None:
        return None
    comment = obj(comment, "comment")
    if comment.get("jsdPublic") is False:
        return None
    author = obj(member(comment, "author", "comment"), "comment.author")
    reporter = fields.get("reporter")
    reporter_id = reporter.get("accountId") if isinstance(reporter, dict) else None
    if reporter_id is not None and author.get("accountId") == reporter_id:
        return None
    return jira_time(member(comment, "created", "comment"), "comment.created")
