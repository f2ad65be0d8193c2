"""The status outputs as bytes, cached briefly and shared by every visitor.

The page is the one that gets traffic during an outage, so each output is rendered once
per ``CACHE_SECONDS`` (or after a change: incidents, updates and maintenance clear it)
and served from the cache with an ETag. Nothing in them depends on who asks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.html import escape

from notifications.services.payloads import iso_utc, json_number, site_url
from status.snapshot import UPTIME_WINDOWS, Snapshot, status_snapshot

CACHE_SECONDS = 30
KEYS = ("status:page", "status:json", "status:feed")


# The latest body of each output this process served, by ETag: a request then reads
# only the small ETag from the shared cache, not the page (some 590 kB with 50 services).
# For LOCAL_SECONDS after that read a request reads nothing at all: the round trip to the
# shared cache was two thirds of a served page (0.73 ms against a trivial view's 0.25 ms,
# in-process, 50 services), so a change reaches every process within a second.
LOCAL_SECONDS = 1.0
_local: dict[str, tuple[Output, float]] = {}


@dataclass(frozen=True)
class Output:
    """One rendered output: its ETag (a quoted SHA-256 prefix of ``body``), the bytes, and
    the same bytes gzip-compressed once at render time, for clients that accept gzip
    (RFC 9110 §8.4): the page of 50 services shrinks about twentyfold, and no request
    pays for compressing it."""

    etag: str
    body: bytes
    gzipped: bytes


def forget() -> None:
    """Drop the cached outputs: the next request renders them from the database (in
    other processes, within LOCAL_SECONDS)."""
    _local.clear()
    cache.delete_many([f"{key}:{part}" for key in KEYS for part in ("etag", "body")])


def cached(key: str, render: Callable[[Snapshot], bytes]) -> Output:
    """The output under ``key``, rendered at most once per CACHE_SECONDS across processes."""
    mine, checked = _local.get(key, (None, 0.0))
    now = time.monotonic()
    if mine is not None and now - checked < LOCAL_SECONDS:
        return mine
    etag = cache.get(f"{key}:etag")
    if etag is not None:
        if mine is not None and mine.etag == etag:
            _local[key] = (mine, now)
            return mine
        shared = cache.get(f"{key}:body")  # an Output, so ETag and bytes always match
        if isinstance(shared, Output) and shared.etag == etag:
            _local[key] = (shared, now)
            return shared
    body = render(status_snapshot(now=timezone.now()))
    output = Output(
        etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
        body=body,
        gzipped=gzip.compress(body, compresslevel=6, mtime=0),
    )
    # The body first: a reader that finds the new ETag finds its body too.
    cache.set(f"{key}:body", output, timeout=CACHE_SECONDS + 5)
    cache.set(f"{key}:etag", output.etag, timeout=CACHE_SECONDS)
    _local[key] = (output, time.monotonic())
    return output


def page_bytes(snapshot: Snapshot) -> bytes:
    return render_to_string("status/page.html", {"s": snapshot}).encode()


def json_bytes(snapshot: Snapshot) -> bytes:
    """``/status.json``: ``{"status", "headline", "updated_at", "services": [{"key",
    "name", "provider", "status", "uptime": {"24h", "7d", "30d", "90d"}}], "incidents":
    [{"id", "service", "title", "impact", "started_at", "resolved_at", "postmortem_url",
    "updates": [{"at", "status", "message"}]}], "maintenance": [{"id", "service", "title",
    "start", "end"}], "contacts": [{"role", "name", "email", "phone", "hours"}]}``
    (contacts with only the fields given); uptime figures are JSON numbers (percent) or null, instants
    ISO 8601 UTC."""
    body: dict[str, Any] = {
        "status": snapshot.state.value,
        "headline": snapshot.headline,
        "updated_at": iso_utc(snapshot.now),
        "services": [
            {
                "key": s.key,
                "name": s.name,
                "provider": s.provider,
                "status": s.state.value,
                "uptime": {w: json_number(s.uptime.get(w)) for w in UPTIME_WINDOWS},
            }
            for s in snapshot.services
        ],
        "incidents": [
            {
                "id": i.id,
                "service": i.service,
                "title": i.title,
                "impact": i.impact,
                "started_at": iso_utc(i.started_at),
                "resolved_at": iso_utc(i.resolved_at),
                "postmortem_url": i.postmortem_url or None,
                "updates": [
                    {"at": iso_utc(u.at), "status": u.status, "message": u.message}
                    for u in i.updates
                ],
            }
            for i in snapshot.incidents
        ],
        "maintenance": [
            {
                "id": m.id,
                "service": m.service,
                "title": m.title,
                "start": iso_utc(m.start),
                "end": iso_utc(m.end),
            }
            for m in snapshot.maintenance
        ],
        "contacts": snapshot.contacts,
    }
    return json.dumps(body, indent=1).encode()


def feed_bytes(snapshot: Snapshot) -> bytes:
    """``/status/feed.atom``: an Atom 1.0 feed (RFC 4287) of the incidents and the
    maintenance windows, each entry with a stable ``tag:`` id and its last change."""
    page = site_url(reverse("status:page"))
    feed = feedgenerator.Atom1Feed(
        title="Service status",
        link=page,
        description="Incidents and maintenance of the public services",
        feed_url=site_url(reverse("status:feed")),
        author_name="Service status",
        language="en",
    )
    for i in snapshot.incidents:
        lines = [f"{i.service_name}: {i.impact}, started {iso_utc(i.started_at)}"]
        if i.resolved_at:
            lines.append(f"Resolved {iso_utc(i.resolved_at)}")
        lines += [f"{u.status_label} ({iso_utc(u.at)}): {u.message}" for u in i.updates]
        feed.add_item(
            title=f"{'Resolved: ' if i.resolved_at else ''}{i.title}",
            link=f"{page}#incident-{i.id}",
            description=_as_html(lines),
            unique_id=f"{page}#incident-{i.id}",
            pubdate=i.started_at,
            updateddate=i.updated_at,
        )
    for m in [*snapshot.maintenance, *snapshot.past_maintenance]:
        feed.add_item(
            title=f"Maintenance: {m.title}",
            link=f"{page}#maintenance-{m.id}",
            description=_as_html(
                [f"{m.service_name}: from {iso_utc(m.start)} to {iso_utc(m.end)}"]
            ),
            unique_id=f"{page}#maintenance-{m.id}",
            pubdate=m.updated_at,
            updateddate=m.updated_at,
        )
    return feed.writeString("utf-8").encode()


def _as_html(lines: list[str]) -> str:
    """Plain text lines as the HTML an Atom ``summary type="html"`` carries (RFC 4287
    §3.1.1.2): every character escaped, so a reader shows "<b>" as text and never runs
    markup sent in a title or an update, and line breaks kept as ``<br>``."""
    return "<br>".join(escape(line) for line in lines)
