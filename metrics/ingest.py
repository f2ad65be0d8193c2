"""Parsing and validation of ingestion batches: plain Python checks, no serializers.

A batch is all or nothing: ``validate_batch`` returns clean typed records, or raises
BatchInvalid with one ``{"index", "field", "message"}`` per problem found.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agreements.text import TextError, shown, single_line
from metrics import recurrence
from metrics.limits import (
    EARLIEST,
    LATEST_YEAR,
    MAINTENANCE_HORIZON,
    MAX_EVENT_COUNT,
    MAX_LATENCY_MS,
)
from metrics.rows import (
    EventRow,
    IncidentRow,
    MaintenanceRow,
    ProbeRow,
    Row,
    SampleRow,
    StatusUpdateRow,
    TicketRow,
)

MAX_RECORDS = 10_000
MAX_BYTES = 10 * 1024 * 1024
MAX_ERRORS = 1000
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
UTC = dt.UTC
# An RFC 3339 instant: date, "T", time with seconds, an optional fraction after a dot
# (microseconds are stored, so at most six digits), and "Z" or an offset. Python's own
# parser is more lenient (it reads "10:00:301Z" as 10:00:30.1), so the shape is checked
# first.
_LOCAL = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?"
INSTANT = re.compile(_LOCAL + r"(?:Z|[+-]\d{2}:\d{2})")
LOCAL_TIME = re.compile(_LOCAL)
METRIC = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")


class BatchInvalid(Exception):
    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors[:MAX_ERRORS]
        self.total = len(errors)
        super().__init__(f"{len(errors)} problem(s) in the batch")


class BatchTooLarge(Exception):
    pass


class _RecordError(Exception):
    def __init__(self, field: str | None, message: str):
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Kind:
    name: str
    required: frozenset[str]
    optional: frozenset[str]
    check: Callable[[dict[str, Any], Context], Row]

    @property
    def fields(self) -> frozenset[str]:
        return self.required | self.optional


@dataclass
class Context:
    now: dt.datetime
    services: dict[str, int]  # service key -> id, restricted to what the key may write
    customers: dict[str, int]
    csv: bool = False
    latest: dt.datetime = dataclasses.field(init=False)  # the newest acceptable timestamp
    probes: dict[str, str] = dataclasses.field(default_factory=dict)  # probe names checked
    metrics: set[str] = dataclasses.field(default_factory=set)  # sample metric names checked

    def __post_init__(self) -> None:
        # Computed once per batch: each record is compared against it.
        self.latest = self.now + FUTURE_TOLERANCE


def parse_body(body: bytes, content_type: str) -> list[Any]:
    if len(body) > MAX_BYTES:
        raise BatchTooLarge(f"the body is larger than {MAX_BYTES // (1024 * 1024)} MB")
    media = content_type.split(";")[0].strip().lower()
    if media == "text/csv":
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BatchInvalid([_error(None, None, "CSV body must be UTF-8 text")]) from None
        try:
            records = _csv_records(text)
        except csv.Error as error:
            raise BatchInvalid([_error(None, None, f"CSV body is malformed: {error}")]) from None
    elif media in ("application/json", ""):
        try:
            records = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise BatchInvalid([_error(None, None, f"body is not valid JSON: {error}")]) from None
        except RecursionError:
            raise BatchInvalid(
                [_error(None, None, "body is not valid JSON: nested too deeply")]
            ) from None
        if not isinstance(records, list):
            raise BatchInvalid([_error(None, None, "body must be a JSON array of records")])
    else:
        raise BatchInvalid(
            [
                _error(
                    None,
                    None,
                    f"unsupported content type {media!r}; use application/json or text/csv",
                )
            ]
        )
    if len(records) > MAX_RECORDS:
        raise BatchTooLarge(f"a batch holds at most {MAX_RECORDS} records")
    if not records:
        raise BatchInvalid([_error(None, None, "the batch is empty")])
    return records


def _csv_records(text: str) -> list[Any]:
    # newline="" lets the csv module see every line ending itself: "\r\n", "\n" and a
    # bare "\r" all end a row, and one inside quotes stays part of the value.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise BatchInvalid([_error(None, None, "CSV body needs a header line of field names")])
    records: list[Any] = []
    for row in reader:
        if None in row:
            records.append({"__extra__": True})
        else:
            records.append(row)
        if len(records) > MAX_RECORDS:
            break
    return records


def _error(index: int | None, field: str | None, message: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message}


def validate_batch(kind: Kind, records: list[Any], ctx: Context) -> list[Row]:
    errors: list[dict[str, Any]] = []
    clean: list[Row] = []
    fields, required = kind.fields, kind.required
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append(_error(index, None, "each record must be an object"))
            continue
        if "__extra__" in record:
            errors.append(_error(index, None, "the row has more values than the header has fields"))
            continue
        keys = record.keys()
        if not (keys <= fields and keys >= required):
            for name in sorted(keys - fields):
                errors.append(_error(index, shown(name), "unknown field"))
            for name in sorted(required - keys):
                errors.append(_error(index, name, "is required"))
            continue
        try:
            clean.append(kind.check(record, ctx))
        except _RecordError as error:
            errors.append(_error(index, error.field, error.message))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise BatchInvalid(errors)
    return clean


# Field checks --------------------------------------------------------------------------


def timestamp(value: Any, field: str, ctx: Context, *, future_ok: bool = False) -> dt.datetime:
    if not isinstance(value, str):
        raise _RecordError(field, "must be an ISO 8601 timestamp string with a UTC offset")
    if not INSTANT.fullmatch(value):
        if LOCAL_TIME.fullmatch(value):
            raise _RecordError(field, "must include a UTC offset (e.g. 2026-05-01T12:00:00Z)")
        raise _RecordError(
            field,
            f"{value[:40]!r} is not an ISO 8601 timestamp such as 2026-05-01T12:00:00Z "
            "(seconds required, a fraction only after a dot, then Z or an offset)",
        )
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _RecordError(field, f"{value!r} is not an ISO 8601 timestamp") from None
    # Checked before converting: a local time in year 1 or 9999 cannot even move to UTC.
    if not EARLIEST.year <= parsed.year <= LATEST_YEAR:
        raise _RecordError(field, f"must be between 2000 and {LATEST_YEAR}")
    # The common shape ends in "Z", which parses straight to UTC: no conversion needed.
    if value[-1] != "Z" or parsed.tzinfo is not UTC:
        parsed = parsed.astimezone(UTC)
    if parsed < EARLIEST:
        raise _RecordError(field, "is before 2000-01-01")
    if not future_ok and parsed > ctx.latest:
        raise _RecordError(field, "is more than 5 minutes in the future")
    return parsed


def optional_timestamp(record: dict[str, Any], field: str, ctx: Context) -> dt.datetime | None:
    value = record.get(field)
    if value is None or (ctx.csv and value == ""):
        return None
    return timestamp(value, field, ctx)


def service_id(value: Any, ctx: Context) -> int:
    if not isinstance(value, str):
        raise _RecordError("service", "must be a service key string")
    found = ctx.services.get(value)
    if found is None:
        text(value, "service", max_length=64)  # says what is wrong with a hostile key
        raise _RecordError("service", f"unknown service {value!r}")
    return found


def customer_id(value: Any, ctx: Context) -> int:
    if not isinstance(value, str):
        raise _RecordError("customer", "must be a customer key string")
    found = ctx.customers.get(value)
    if found is None:
        text(value, "customer", max_length=64)
        raise _RecordError("customer", f"unknown customer {value!r}")
    return found


def boolean(value: Any, field: str, ctx: Context) -> bool:
    if isinstance(value, bool):
        return value
    if ctx.csv and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    raise _RecordError(field, "must be true or false")


def whole(value: Any, field: str, ctx: Context, *, maximum: int) -> int:
    if ctx.csv and isinstance(value, str):
        if len(value) > 30:
            raise _RecordError(field, f"must be at most {maximum:,}")
        try:
            value = int(value.strip())
        except ValueError:
            raise _RecordError(field, "must be a whole number") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RecordError(field, "must be a whole number")
    if value < 0:
        raise _RecordError(field, "must not be negative")
    if value > maximum:
        raise _RecordError(field, f"must be at most {maximum:,}")
    return value


def text(value: Any, field: str, *, max_length: int) -> str:
    try:
        return single_line(value, field, max_length=max_length)
    except TextError as error:
        raise _RecordError(field, error.message) from None


def _probe(record: dict[str, Any], ctx: Context) -> ProbeRow:
    service = record["service"]
    # The well-formed record takes the short branches; anything else gets the full
    # checks below, which name the problem.
    sid = ctx.services.get(service) if type(service) is str else None
    if sid is None:
        sid = service_id(service, ctx)
    ts = timestamp(record["ts"], "ts", ctx)
    ok = record["ok"]
    if type(ok) is not bool:
        ok = boolean(ok, "ok", ctx)
    latency = record.get("latency_ms")
    if type(latency) is float and 0.0 <= latency <= MAX_LATENCY_MS:
        pass  # also false for NaN
    else:
        latency = _latency(latency, ok, ctx)
    probe = record.get("probe", "default")
    if probe != "default":
        # A batch names few locations: each distinct name is checked once.
        clean = ctx.probes.get(probe) if type(probe) is str else None
        if clean is None:
            clean = text(probe, "probe", max_length=64)
            ctx.probes[probe] = clean
        probe = clean
    return ProbeRow(sid, probe, ts, ok, latency)


def _latency(latency: Any, ok: bool, ctx: Context) -> float | None:
    if ctx.csv and latency == "":
        latency = None
    if latency is None:
        if ok:
            raise _RecordError("latency_ms", "is required when ok is true")
        return None
    if ctx.csv and isinstance(latency, str):
        try:
            latency = float(latency[:40])
        except ValueError:
            raise _RecordError("latency_ms", "must be a number") from None
    if isinstance(latency, bool) or not isinstance(latency, (int, float)):
        raise _RecordError("latency_ms", "must be a number")
    # Compared before any conversion: a 400-digit integer has no float.
    if isinstance(latency, float) and not math.isfinite(latency):
        raise _RecordError("latency_ms", "must be a finite number")
    if latency < 0:
        raise _RecordError("latency_ms", "must not be negative")
    if latency > MAX_LATENCY_MS:
        raise _RecordError("latency_ms", f"must be at most {MAX_LATENCY_MS:,.0f} ms (an hour)")
    return float(latency)


def _event(record: dict[str, Any], ctx: Context) -> EventRow:
    sid = service_id(record["service"], ctx)
    ts = timestamp(record["ts"], "ts", ctx)
    good = whole(record["good"], "good", ctx, maximum=MAX_EVENT_COUNT)
    total = whole(record["total"], "total", ctx, maximum=MAX_EVENT_COUNT)
    if good > total:
        raise _RecordError("good", f"must not exceed total ({good} > {total})")
    return EventRow(sid, ts, good, total)


def _ticket(record: dict[str, Any], ctx: Context) -> TicketRow:
    cid = customer_id(record["customer"], ctx)
    external_id = text(record["external_id"], "external_id", max_length=128)
    priority = text(record["priority"], "priority", max_length=32)
    opened = timestamp(record["opened_at"], "opened_at", ctx)
    first = optional_timestamp(record, "first_response_at", ctx)
    resolved = optional_timestamp(record, "resolved_at", ctx)
    if first is not None and first < opened:
        raise _RecordError("first_response_at", "must not be before opened_at")
    if resolved is not None and resolved < opened:
        raise _RecordError("resolved_at", "must not be before opened_at")
    paused = _pauses(record.get("paused"), opened, ctx, resolved=resolved)
    return TicketRow(cid, external_id, priority, opened, first, resolved, paused)


MAX_PAUSES = 1000


def _pauses(
    value: Any, opened: dt.datetime, ctx: Context, *, resolved: dt.datetime | None = None
) -> list[list[str | None]] | None:
    """SPEC §4 ``"paused": [{"from", "to"}]``: in time order, from < to, not overlapping,
    within opened_at..now (and before resolved_at, when the ticket is resolved: its clock
    has stopped); only the last may have ``to`` null (still paused), and not on a resolved
    ticket. None (the field left out, or null) keeps the stored pauses; ``[]`` clears them."""
    if value is None or (ctx.csv and value == ""):
        return None
    if not isinstance(value, list):
        raise _RecordError("paused", 'must be a list of {"from", "to"} objects')
    if len(value) > MAX_PAUSES:
        raise _RecordError("paused", f"must hold at most {MAX_PAUSES} pauses")
    out: list[list[str | None]] = []
    previous_end: dt.datetime | None = opened
    for i, pause in enumerate(value):
        where = f"paused[{i}]"
        if not isinstance(pause, dict) or "from" not in pause:
            raise _RecordError(where, 'must be an object {"from", "to"} (to null while paused)')
        if unknown := sorted(set(pause) - {"from", "to"}):
            raise _RecordError(f"{where}.{unknown[0][:40]}", "is not a field of a pause")
        start = timestamp(pause["from"], f"{where}.from", ctx)
        end = None if pause.get("to") is None else timestamp(pause["to"], f"{where}.to", ctx)
        if previous_end is None:
            raise _RecordError(where, "follows a pause with no end (only the last may be open)")
        if start < previous_end:
            earlier = i > 0 and start < dt.datetime.fromisoformat(out[-1][0])  # type: ignore[arg-type]
            raise _RecordError(
                f"{where}.from",
                "must not be before opened_at"
                if i == 0
                else "is before the pause before it (pauses go in time order)"
                if earlier
                else "overlaps the pause before",
            )
        if end is not None and end <= start:
            raise _RecordError(f"{where}.to", "must be after from")
        if resolved is not None and start >= resolved:
            raise _RecordError(f"{where}.from", "must be before resolved_at (the clock stopped)")
        if resolved is not None and end is None:
            raise _RecordError(f"{where}.to", "must be given: a resolved ticket is not paused")
        out.append([start.isoformat(), None if end is None else end.isoformat()])
        previous_end = end
    return out


IMPACTS = ("outage", "degraded")


def _incident(record: dict[str, Any], ctx: Context) -> IncidentRow:
    sid = service_id(record["service"], ctx)
    external_id = text(record["external_id"], "external_id", max_length=128)
    title = text(record["title"], "title", max_length=300)
    impact = record["impact"]
    if impact not in IMPACTS:
        raise _RecordError("impact", "must be outage or degraded")
    started = timestamp(record["started_at"], "started_at", ctx)
    resolved = optional_timestamp(record, "resolved_at", ctx)
    if resolved is not None and resolved < started:
        raise _RecordError("resolved_at", "must not be before started_at")
    updates = _status_updates(record["updates"], ctx) if "updates" in record else None
    for i, update in enumerate(updates or ()):
        if update.at < started:
            raise _RecordError(f"updates[{i}].at", "must not be before started_at")
    return IncidentRow(sid, external_id, title, impact, started, resolved, updates)


UPDATE_STATUSES = ("investigating", "identified", "monitoring", "resolved")
UPDATE_FIELDS = frozenset({"at", "status", "message"})
MAX_UPDATES = 100
MAX_UPDATE_MESSAGE = 2000


def _status_updates(value: Any, ctx: Context) -> tuple[StatusUpdateRow, ...]:
    """SPEC §4 incident ``updates``: ``[{"at", "status", "message"}]``, the public
    timeline; ``message`` is one line of at most 2000 characters."""
    if not isinstance(value, list):
        raise _RecordError("updates", 'must be a list of {"at", "status", "message"} objects')
    if len(value) > MAX_UPDATES:
        raise _RecordError("updates", f"at most {MAX_UPDATES} updates per incident")
    out = []
    for i, item in enumerate(value):
        path = f"updates[{i}]"
        if not isinstance(item, dict):
            raise _RecordError(path, "must be an object")
        unknown = sorted(item.keys() - UPDATE_FIELDS)
        if unknown:
            raise _RecordError(f"{path}.{shown(unknown[0])}", "unknown field")
        for name in ("at", "status", "message"):
            if name not in item:
                raise _RecordError(f"{path}.{name}", "is required")
        at = timestamp(item["at"], f"{path}.at", ctx)
        if item["status"] not in UPDATE_STATUSES:
            raise _RecordError(f"{path}.status", f"must be one of {', '.join(UPDATE_STATUSES)}")
        message = text(item["message"], f"{path}.message", max_length=MAX_UPDATE_MESSAGE)
        out.append(StatusUpdateRow(at, item["status"], message))
    return tuple(out)


def _maintenance(record: dict[str, Any], ctx: Context) -> MaintenanceRow:
    sid = service_id(record["service"], ctx)
    external_id = text(record["external_id"], "external_id", max_length=128)
    title = text(record["title"], "title", max_length=300)
    start = timestamp(record["start"], "start", ctx, future_ok=True)
    end = timestamp(record["end"], "end", ctx, future_ok=True)
    announced = timestamp(record["announced_at"], "announced_at", ctx)
    if end <= start:
        raise _RecordError("end", "must be after start")
    for field, value in (("start", start), ("end", end)):
        if value > ctx.now + MAINTENANCE_HORIZON:
            raise _RecordError(field, "must be at most two years ahead")
    if recurrence.OCCURRENCE_ID.search(external_id):
        raise _RecordError(
            "external_id", "must not end in @YYYYMMDDTHHMMSSZ: that names a recurring occurrence"
        )
    rule = record.get("recurrence")
    if rule is None or rule == "":  # absent, null or empty: a single window
        return MaintenanceRow(sid, external_id, title, start, end, announced)
    if not isinstance(rule, str) or not rule.strip():
        raise _RecordError("recurrence", "must be an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=SU")
    try:
        rule = recurrence.check(rule, start=start, end=end, now=ctx.now)
    except recurrence.RecurrenceError as error:
        raise _RecordError("recurrence", str(error)) from None
    return MaintenanceRow(sid, external_id, title, start, end, announced, rule)


MAX_SAMPLE_VALUE = Decimal(10) ** 9
MICRO = Decimal("0.000001")


# A value in the plainest form: an optional minus, at most nine whole digits (so within
# ±10^9) and at most six decimals. Such a value needs none of _sample_value's checks.
_PLAIN_VALUE = re.compile(r"-?[0-9]{1,9}(?:\.[0-9]{1,6})?")


def _sample(record: dict[str, Any], ctx: Context) -> SampleRow:
    """Rule 16: ``{"service", "metric", "ts", "value"}``, value a decimal number or string
    within ±10^9 with at most 6 decimal places (in the metric's unit)."""
    # The well-formed record takes the short branches (a known service, a metric name
    # already checked in this batch, a plain value); anything else gets the full checks,
    # which name the problem.
    service = record["service"]
    sid = ctx.services.get(service) if type(service) is str else None
    if sid is None:
        sid = service_id(service, ctx)
    metric = record["metric"]
    if type(metric) is not str or metric not in ctx.metrics:
        if not isinstance(metric, str) or not METRIC.fullmatch(metric):
            raise _RecordError(
                "metric",
                "must be a metric name of at most 64 characters: lower-case letters, digits,"
                " _ or -, starting and ending with a letter or digit",
            )
        ctx.metrics.add(metric)
    ts = timestamp(record["ts"], "ts", ctx)
    value = record["value"]
    kind = type(value)
    if kind is str:
        plain = value if _PLAIN_VALUE.fullmatch(value) else None
    elif kind is float or kind is int:
        text = str(value)
        plain = text if _PLAIN_VALUE.fullmatch(text) else None
    else:
        plain = None
    return SampleRow(sid, metric, ts, Decimal(plain) if plain else _sample_value(value))


def _sample_value(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _RecordError("value", "must be a decimal number or a string holding one")
    if isinstance(value, str) and len(value) > 40:
        raise _RecordError("value", "must be a decimal number of at most 40 characters")
    # Python's Decimal also reads other scripts' digits ("١٢٣") and underscores ("1_000"),
    # which no tool sending measurements means.
    if isinstance(value, str) and (not value.strip().isascii() or "_" in value):
        raise _RecordError(
            "value",
            f"{value[:40]!r} is not a decimal number: digits 0-9 with an optional sign, "
            "point and exponent",
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise _RecordError("value", f"{str(value)[:40]!r} is not a decimal number") from None
    if not number.is_finite():
        raise _RecordError("value", "must be a finite number")
    if abs(number) > MAX_SAMPLE_VALUE:
        raise _RecordError("value", "must be between -1000000000 and 1000000000")
    if number != number.quantize(MICRO):
        raise _RecordError("value", "must have at most 6 decimal places")
    return number


def _kind(name: str, required: Iterable[str], optional: Iterable[str], check: Any) -> Kind:
    return Kind(name, frozenset(required), frozenset(optional), check)


PROBES = _kind("probes", ["service", "ts", "ok"], ["latency_ms", "probe"], _probe)
EVENTS = _kind("events", ["service", "ts", "good", "total"], [], _event)
TICKETS = _kind(
    "tickets",
    ["customer", "external_id", "priority", "opened_at"],
    ["first_response_at", "resolved_at", "paused"],
    _ticket,
)
INCIDENTS = _kind(
    "incidents",
    ["service", "external_id", "title", "impact", "started_at"],
    ["resolved_at", "updates"],
    _incident,
)
MAINTENANCE = _kind(
    "maintenance",
    ["service", "external_id", "title", "start", "end", "announced_at"],
    ["recurrence"],
    _maintenance,
)
SAMPLES = _kind("samples", ["service", "metric", "ts", "value"], [], _sample)
KINDS = {k.name: k for k in (PROBES, EVENTS, TICKETS, INCIDENTS, MAINTENANCE, SAMPLES)}
