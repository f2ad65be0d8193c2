"""What every tool's translation shares: reading fields of a webhook body with the
tool's own field paths in errors, its timestamps, and the incidents it becomes.

A translation turns one body into incident records in the shape of the incidents
ingestion API (SPEC §4: ``{"service", "external_id", "title", "impact", "started_at",
"resolved_at"}``, ``service`` already one of our keys) and the items it skips, each
with its reason. A body that is not what the tool documents raises ``Malformed``
naming the field; nothing is stored then.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agreements.text import unprintable
from metrics import ingest

UTC = dt.UTC
TITLE_MAX = 300  # the incidents API's title length
# RFC 3339 as Go writes it (Alertmanager, Grafana, PagerDuty): up to nine fraction
# digits, of which the six that are stored are kept.
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)


class Malformed(Exception):
    """The body is not what the tool documents: ``field`` is the tool's field path."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass
class Incident:
    """One incident record for the incidents ingestion API, and where each of its
    fields came from in the tool's body (for errors)."""

    index: int
    record: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)


@dataclass
class Translation:
    incidents: list[Incident] = field(default_factory=list)
    # Ticketing tools: ticket records for the tickets ingestion API, in the same wrapper.
    tickets: list[Incident] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, index: int, reason: str) -> None:
        self.skipped.append({"index": index, "reason": reason})


@dataclass
class Lookup:
    """Our services as the sender may name them: by a mapping of its integration, or by
    an identical service key. ``services`` is the ingestion context's (key → id), already
    scoped to what the caller may write; ``open_incidents`` finds the unresolved incidents
    of a service whose external id starts with a prefix (newest first)."""

    services: dict[str, int]
    mapped: dict[str, str]
    open_incidents: Callable[[int, str], list[tuple[str, dt.datetime, str, str]]]
    now: dt.datetime
    outage_words: set[str]

    def service(self, name: str) -> str | None:
        key = self.mapped.get(name, name)
        return key if key in self.services else None

    def unknown(self, name: object) -> str:
        return (
            f"unknown service {str(name)[:100]!r}: no service has this key and no mapping "
            "of this integration names it"
        )


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(path, "must be an object")
    return value


def member(parent: dict[str, Any], name: str, path: str) -> Any:
    if name not in parent:
        raise Malformed(f"{path}.{name}" if path else name, "is required")
    return parent[name]


def string(value: Any, path: str, *, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Malformed(path, "must be a non-empty string")
    if len(value) > max_length:
        raise Malformed(path, f"must be at most {max_length} characters")
    return value


def rfc3339(value: Any, path: str) -> dt.datetime:
    """An RFC 3339 instant with up to nine fraction digits, in UTC (microseconds kept)."""
    if not isinstance(value, str):
        raise Malformed(path, "must be an RFC 3339 timestamp string")
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise Malformed(path, f"{value[:40]!r} is not an RFC 3339 timestamp")
    whole, fraction, zone = match.groups()
    text = whole + (f".{fraction[:6]}" if fraction else "") + ("+00:00" if zone in "Zz" else zone)
    try:
        return dt.datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise Malformed(path, f"{value[:40]!r} is not a valid instant") from None


def instant(value: dt.datetime | None) -> str | None:
    """The timestamp string the incidents API takes."""
    return None if value is None else value.isoformat()


def title(*candidates: Any) -> str:
    """The first candidate that is text, as one clean line of at most 300 characters:
    line breaks and runs of spaces become one space, control characters go."""
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        line = " ".join(candidate.split())
        line = "".join(char for char in line if unprintable(char) is None).strip()
        if line:
            return line[:TITLE_MAX]
    return "untitled"


def is_future(value: dt.datetime, now: dt.datetime) -> bool:
    return value > now + ingest.FUTURE_TOLERANCE
