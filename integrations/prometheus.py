"""Reading measurements from Prometheus (SPEC §4, Integrations, Pull).

Each source is read with the HTTP API's range query, ``GET /api/v1/query_range`` with
``query``, ``start``, ``end`` (Unix seconds, both included) and ``step``, which answers
``{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {labels},
"values": [[unix_seconds, "value"], ...]}]}}`` or ``{"status": "error", "errorType",
"error"}`` (prometheus.io/docs/prometheus/latest/querying/api/). Samples are read at a
60 s step, from one step after where the source last stopped up to the current minute,
in chunks of ``CHUNK_STEPS`` steps, and stored with the ingestion API's writer
(``metrics.services.ingest``) under the source's name, so summaries, late flags,
signals and the ingestion log are those of a posted batch. A failure stops the pull
where it is, and the next one starts there again: an outage of Prometheus is caught up
when it returns.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from integrations.models import PrometheusQuery, PrometheusSource
from metrics.api import context_for, refusing_services
from metrics.limits import MAX_EVENT_COUNT, MAX_LATENCY_MS
from metrics.rows import EventRow, ProbeRow, Row
from metrics.services import Source
from metrics.services import ingest as store

UTC = dt.UTC
STEP = 60  # seconds between samples read
# Steps per range query: a day, well under Prometheus's limit of 11,000 points a series.
CHUNK_STEPS = 1440
# Rows per stored batch, so one transaction stays moderate.
STORE_ROWS = 50_000
# Where a source never pulled starts, unless told.
FIRST_PULL = dt.timedelta(hours=1)
# Location of a series with neither a "probe" nor an "instance" label.
DEFAULT_LOCATION = "default"
MAX_LOCATION = 64


class PullError(Exception):
    """Prometheus could not be read: unreachable, an HTTP error, or an answer that is not
    a range query's matrix. The message says which and is shown to staff."""


@dataclass
class PullResult:
    """What one pull of one source did: rows stored (``accepted``) and already there
    (``duplicates``), up to which step, and the error that stopped it, if any."""

    source: str
    accepted: int = 0
    duplicates: int = 0
    pulled_until: dt.datetime | None = None
    error: str = ""
    skipped: list[str] = field(default_factory=list)


Fetch = Callable[[PrometheusSource, str, int, int], list[dict[str, Any]]]


def query_range(source: PrometheusSource, query: str, start: int, end: int) -> list[dict[str, Any]]:
    """The ``result`` of ``GET {base_url}/api/v1/query_range`` for ``query`` between the
    Unix seconds ``start`` and ``end`` (both included) at ``STEP``: a list of
    ``{"metric": {labels}, "values": [[ts, "value"], ...]}``. Sends the source's bearer
    token or basic credentials. Raises ``PullError``."""
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": STEP})
    url = f"{source.base_url.rstrip('/')}/api/v1/query_range?{params}"
    if not url.startswith(("http://", "https://")):
        raise PullError(f"the base URL must start with http:// or https://: {source.base_url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    if source.bearer_token:
        request.add_header("Authorization", f"Bearer {source.bearer_token}")
    elif source.basic_username:
        pair = f"{source.basic_username}:{source.basic_password}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
    try:
        with urllib.request.urlopen(request, timeout=source.timeout_seconds) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as error:
        detail = _error_text(error.read())
        raise PullError(f"Prometheus answered HTTP {error.code}{detail}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PullError(f"Prometheus is unreachable at {source.base_url}: {reason}") from None
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PullError("Prometheus answered something that is not JSON") from None
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise PullError(f"Prometheus refused the query{_error_text(raw)}")
    data = payload.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise PullError("Prometheus answered no matrix (a range query returns resultType matrix)")
    result = data.get("result")
    if not isinstance(result, list):
        raise PullError("Prometheus answered a matrix without a result list")
    return result


def _error_text(raw: bytes) -> str:
    try:
        payload = json.loads(raw)
        return f": {payload.get('errorType', '')}: {str(payload.get('error', ''))[:300]}"
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""


def location_of(labels: dict[str, Any]) -> str:
    """A series' probe location: its ``probe`` label, else ``instance``, else
    ``"default"`` (SPEC §4, Pull); cut to 64 characters, on one line."""
    name = labels.get("probe") or labels.get("instance") or DEFAULT_LOCATION
    text = " ".join(str(name).split())[:MAX_LOCATION]
    return text or DEFAULT_LOCATION


def _samples(series: dict[str, Any]) -> Iterable[tuple[int, float]]:
    """(Unix seconds on a step, finite value) of one series; NaN, infinities and values
    that are no numbers are no measurement and are left out."""
    values = series.get("values")
    if not isinstance(values, list):
        raise PullError("a series of the matrix has no values list")
    for pair in values:
        try:
            ts, raw = pair
            value = float(raw)
            second = round(float(ts))
        except (TypeError, ValueError, OverflowError):
            raise PullError(f'a sample is not [unix_seconds, "value"]: {str(pair)[:80]}') from None
        if math.isfinite(value):
            yield second, value


def _instant(second: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(second, tz=UTC)


def probe_rows(
    service_id: int,
    success: list[dict[str, Any]],
    latency: list[dict[str, Any]] | None,
    *,
    latest: int,
) -> list[ProbeRow]:
    """Probe results from the matrices of a success query (a value of 1 or more is a
    success, anything less a failure: ``probe_success`` is 0 or 1) and of an optional
    latency query in seconds, matched by location and step. A success without a latency
    sample has none (``latency_ms`` null); latencies beyond an hour are cut to an hour.
    Samples after ``latest`` (Unix seconds) are left out."""
    seconds: dict[tuple[str, int], float] = {}
    for series in latency or ():
        where = location_of(series.get("metric") or {})
        for second, value in _samples(series):
            seconds[(where, second)] = value
    rows: dict[tuple[str, int], ProbeRow] = {}
    for series in success:
        where = location_of(series.get("metric") or {})
        for second, value in _samples(series):
            if second > latest:
                continue
            ok = value >= 1
            took = seconds.get((where, second))
            latency_ms = None
            if took is not None and took >= 0:
                latency_ms = min(took * 1000.0, MAX_LATENCY_MS)
            rows[(where, second)] = ProbeRow(service_id, where, _instant(second), ok, latency_ms)
    return list(rows.values())


def event_rows(
    service_id: int, good: list[dict[str, Any]], total: list[dict[str, Any]], *, latest: int
) -> list[EventRow]:
    """Event counts from the matrices of a good and a total query: every series of each
    summed per step, rounded to whole events (``increase()`` extrapolates to fractions),
    good cut to total. A step needs both counts; samples after ``latest`` are left out."""
    sums: dict[str, dict[int, float]] = {"good": defaultdict(float), "total": defaultdict(float)}
    for name, matrix in (("good", good), ("total", total)):
        for series in matrix:
            for second, value in _samples(series):
                sums[name][second] += value
    rows = []
    for second in sorted(sums["total"].keys() & sums["good"].keys()):
        if second > latest:
            continue
        all_events = min(max(round(sums["total"][second]), 0), MAX_EVENT_COUNT)
        met = min(max(round(sums["good"][second]), 0), all_events)
        rows.append(EventRow(service_id, _instant(second), met, all_events))
    return rows


def _chunk_rows(
    source: PrometheusSource, queries: list[PrometheusQuery], start: int, end: int, fetch: Fetch
) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {"probes": [], "events": []}
    for query in queries:
        if query.kind == PrometheusQuery.Kind.PROBES:
            success = fetch(source, query.probe_success, start, end)
            latency = (
                fetch(source, query.probe_latency_seconds, start, end)
                if query.probe_latency_seconds
                else None
            )
            found["probes"] += probe_rows(query.service_id, success, latency, latest=end)
        else:
            good = fetch(source, query.good, start, end)
            total = fetch(source, query.total, start, end)
            found["events"] += event_rows(query.service_id, good, total, latest=end)
    return found


def source_pull(
    source: PrometheusSource,
    *,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
    fetch: Fetch = query_range,
) -> PullResult:
    """Read ``source`` from one step after where it last stopped (or from ``since``, or
    an hour back the first time) up to the current minute, in chunks of
    ``CHUNK_STEPS`` steps, storing each chunk before reading the next and moving
    ``pulled_until`` with it. On a ``PullError`` the source is marked failing with the
    error and keeps its position; the next pull catches up from there. Services whose
    agreements name other sources (``measured_by``) are skipped and named in the result."""
    now = now or timezone.now()
    latest = int(now.timestamp()) // STEP * STEP
    if since is not None:
        first = -(-int(since.timestamp()) // STEP) * STEP
    elif source.pulled_until is not None:
        first = int(source.pulled_until.timestamp()) // STEP * STEP + STEP
    else:
        first = latest - int(FIRST_PULL.total_seconds())
    queries = list(source.queries.select_related("service"))
    result = PullResult(source=source.name, pulled_until=source.pulled_until)
    source.last_attempt_at = now
    ctx = context_for(None, csv=False, kind="probes")
    closed = ctx.closed_services  # type: ignore[attr-defined]
    refused = refusing_services(source.name, {q.service_id for q in queries}) if queries else set()
    for query in queries:
        if query.service_id in refused:
            result.skipped.append(
                f"{query.service.key}: its agreements accept measurements only from the "
                f"sources they name (measured_by); {source.name!r} is not one of them"
            )
    queries = [q for q in queries if q.service_id not in refused]
    start = first
    try:
        while start <= latest:
            end = min(start + (CHUNK_STEPS - 1) * STEP, latest)
            found = _chunk_rows(source, queries, start, end, fetch)
            for kind, rows in found.items():
                for offset in range(0, len(rows), STORE_ROWS):
                    stored = store(
                        kind,
                        rows=rows[offset : offset + STORE_ROWS],
                        closed=closed,
                        source=Source(name=source.name, endpoint=_endpoint(source)),
                    )
                    result.accepted += stored.accepted
                    result.duplicates += stored.duplicates
            result.pulled_until = _instant(end)
            source.pulled_until = result.pulled_until
            source.save(update_fields=["pulled_until"])
            start = end + STEP
    except PullError as error:
        result.error = str(error)
    source.state = PrometheusSource.State.FAILING if result.error else PrometheusSource.State.OK
    source.last_error = result.error or "; ".join(result.skipped)
    if not result.error:
        source.last_success_at = now
    source.save(update_fields=["state", "last_error", "last_attempt_at", "last_success_at"])
    return result


def _endpoint(source: PrometheusSource) -> str:
    return f"prometheus {source.base_url.rstrip('/')}/api/v1/query_range"


def sources_pull(
    *, name: str | None = None, since: dt.datetime | None = None, fetch: Fetch = query_range
) -> list[PullResult]:
    """Pull every enabled source (or only the one named ``name``, enabled or not); see
    ``source_pull``."""
    sources = PrometheusSource.objects.all()
    sources = sources.filter(name=name) if name is not None else sources.filter(enabled=True)
    return [source_pull(source, since=since, fetch=fetch) for source in sources]
