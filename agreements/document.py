"""The agreement document (SPEC §2): parsing, strict validation and canonical form.

``load_document`` turns YAML or JSON text into a mapping; ``validate`` checks every
field and returns a canonical, JSON-serialisable document or raises DocumentError
listing each problem as ``path: message`` (for example
``objectives[2].target: must be between 0 and 100``). Nothing here touches the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from agreements.text import TextError, shown, single_line

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
INDICATORS = ["availability", "latency", "ratio", "response_time", "resolution_time"]
TICKET_INDICATORS = {"response_time", "resolution_time"}
SOURCES = ["probes", "incidents"]
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

# Limits: a document within them imports and closes its periods in moments, and every
# value fits the columns and date arithmetic it flows into (docs/agreement-format.md).
MAX_OBJECTIVES = 100
MAX_TIERS = 20
MAX_ESCALATION_LEVELS = 10
MAX_CALENDARS = 20
MAX_RANGES_PER_DAY = 12
MAX_HOLIDAYS = 500
MAX_DURATION = 366 * 86400  # ticket thresholds and escalation delays
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
MAX_EMAIL_LENGTH = 254  # RFC 5321, and the contact column

# ISO 4217 active codes.
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST
    XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 (a word list reads better than 170 quoted items)
)

TOP_KEYS = {
    "agreement",
    "customer",
    "name",
    "provider",
    "timezone",
    "effective_from",
    "effective_to",
    "currency",
    "monthly_fee",
    "credit_cap_percent",
    "claim_window_days",
    "maintenance_notice_hours",
    "data_grace_hours",
    "notice_period_days",
    "calendars",
    "objectives",
    "escalation",
    "measured_by",
    "services",
}
REQUIRED_TOP = [
    "agreement",
    "customer",
    "name",
    "timezone",
    "effective_from",
    "currency",
    "monthly_fee",
    "objectives",
]
OBJECTIVE_KEYS = {
    "key",
    "service",
    "indicator",
    "source",
    "target",
    "coverage",
    "credits",
    "threshold_ms",
    "priority",
    "threshold",
    "warn_at_percent",
}
# The keys whose change makes a new version of the terms (SPEC §2).
TERMS_KEYS = [
    "timezone",
    "effective_from",
    "effective_to",
    "currency",
    "monthly_fee",
    "credit_cap_percent",
    "claim_window_days",
    "maintenance_notice_hours",
    "data_grace_hours",
    "calendars",
    "objectives",
]


class DocumentError(ValueError):
    """An invalid agreement document; ``errors`` holds ``(path, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{path}: {message}" if path else message for path, message in errors)
        )

    def as_list(self) -> list[dict[str, str]]:
        return [{"field": path, "message": message} for path, message in self.errors]


# A document nests a handful of levels (objectives -> credits -> tier); anything much
# deeper is hostile or broken, and refusing it early keeps parsing from recursing.
MAX_NESTING = 32


class _DecimalLoader(yaml.SafeLoader):
    """YAML loader that reads numbers with a fraction as Decimal, never float, and refuses
    aliases (``*name``: a few hundred bytes of nested aliases expand to gigabytes) and
    nesting deeper than ``MAX_NESTING``."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in an agreement document", mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_NESTING} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _decimal_constructor(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = loader.construct_scalar(node)  # type: ignore[arg-type]
    try:
        return Decimal(str(text).replace("_", ""))
    except InvalidOperation:
        return str(text)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)


def load_document(text: str) -> Any:
    """Parse YAML or JSON text (JSON is YAML, but is read first for exact messages)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise DocumentError([("", f"invalid JSON: {error}")]) from None
        except RecursionError:
            raise DocumentError([("", "invalid JSON: nested too deeply")]) from None
    try:
        return yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 (safe loader subclass)
    except yaml.YAMLError as error:
        raise DocumentError([("", f"invalid YAML: {error}")]) from None
    except ValueError as error:  # e.g. an integer longer than Python converts from text
        raise DocumentError([("", f"invalid YAML: {error}")]) from None
    except RecursionError:
        raise DocumentError([("", "invalid YAML: nested too deeply")]) from None


def parse_duration(value: object) -> int:
    """Seconds of a duration such as ``90s``, ``30m``, ``4h``, ``2d``."""
    if not isinstance(value, str):
        raise ValueError('must be a duration such as "90s", "30m", "4h" or "2d"')
    match = DURATION.fullmatch(value.strip())
    if not match:
        raise ValueError(f'{value!r} is not a duration such as "90s", "30m", "4h" or "2d"')
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The largest exact unit: 3600 -> ``1h``, 5400 -> ``90m``, 0 -> ``0m``."""
    if seconds == 0:
        return "0m"
    for unit, size in UNIT_SECONDS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable")


def parse_range(value: object) -> tuple[int, int]:
    """Minutes of the day of ``"09:00-17:00"``; the end may be ``24:00``."""
    if not isinstance(value, str):
        raise ValueError('must be a range such as "09:00-17:00"')
    match = RANGE.fullmatch(value.strip())
    if not match:
        raise ValueError(f'{value!r} is not a range such as "09:00-17:00"')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{value!r} has an impossible time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f"{value!r} must end after it starts (split ranges that cross midnight)")
    return start, end


def format_range(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


class _Checker:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def mapping(self, value: object, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, "must be a mapping")
            return None
        return value

    def unknown(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{shown(key)}" if path else shown(key)
                self.error(where, "unknown field")

    def slug(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or not SLUG.fullmatch(value):
            self.error(path, "must be a slug: lowercase letters, digits, '-' or '_', 1-64 chars")
            return None
        return value

    def text(self, value: object, path: str, *, max_length: int = 200) -> str | None:
        try:
            return single_line(value, path, max_length=max_length)
        except TextError as error:
            self.error(path, error.message)
            return None

    def listed(self, value: object, path: str, *, limit: int, what: str) -> list[Any] | None:
        """``value`` if it is a list of at most ``limit`` items."""
        if not isinstance(value, list):
            self.error(path, f"must be a list of {what}")
            return None
        if len(value) > limit:
            self.error(path, f"at most {limit} {what} (found {len(value)})")
            return None
        return value

    def duration(self, value: object, path: str) -> int | None:
        try:
            seconds = parse_duration(value)
        except ValueError as error:
            self.error(path, str(error))
            return None
        if seconds > MAX_DURATION:
            self.error(path, f"must be at most {MAX_DURATION // 86400}d")
            return None
        return seconds

    def date(self, value: object, path: str) -> dt.date | None:
        if isinstance(value, dt.datetime):
            self.error(path, "must be a date (YYYY-MM-DD), not a date and time")
            return None
        day: dt.date | None = None
        if isinstance(value, dt.date):
            day = value
        elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            with contextlib.suppress(ValueError):
                day = dt.date.fromisoformat(value)
        if day is None:
            self.error(path, "must be a date in the form YYYY-MM-DD")
            return None
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            self.error(path, f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
            return None
        return day

    def integer(
        self, value: object, path: str, *, minimum: int = 0, maximum: int = 10**6
    ) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "must be a whole number")
            return None
        if not minimum <= value <= maximum:
            self.error(path, f"must be between {minimum} and {maximum}")
            return None
        return value

    def number(self, value: object, path: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str, float)):
            self.error(path, "must be a number")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.error(path, f"{value!r} is not a number")
            return None
        if not number.is_finite():
            self.error(path, "must be a finite number")
            return None
        return number

    def percent(self, value: object, path: str, *, allow_zero: bool = False) -> Decimal | None:
        number = self.number(value, path)
        if number is None:
            return None
        low_ok = number >= 0 if allow_zero else number > 0
        if not low_ok or number > 100:
            bound = "between 0 and 100" if allow_zero else "between 0 and 100 (greater than 0)"
            self.error(path, f"must be {bound}")
            return None
        if number.as_tuple().exponent < -4:  # type: ignore[operator]
            self.error(path, "must have at most 4 decimal places")
            return None
        return number


def _plain(number: Decimal) -> str:
    """Canonical text of a percent: no exponent, no trailing zeros."""
    text = format(number.normalize(), "f")
    return text


def _percent_out(number: Decimal) -> int | float | str:
    # Percents are written back as YAML/JSON numbers, exactly as entered.
    if number == number.to_integral_value():
        return int(number)
    return _plain(number)


def validate(data: object) -> dict[str, Any]:
    """Validate a parsed document; return its canonical form or raise DocumentError."""
    c = _Checker()
    doc = c.mapping(data, "")
    if doc is None:
        raise DocumentError([("", "the document must be a mapping of fields")])
    c.unknown(doc, TOP_KEYS, "")
    for key in REQUIRED_TOP:
        if key not in doc or doc[key] is None:
            c.error(key, "is required")
    out: dict[str, Any] = {}

    if doc.get("agreement") is not None:
        out["agreement"] = c.slug(doc["agreement"], "agreement")
    if doc.get("customer") is not None:
        customer = doc["customer"]
        if isinstance(customer, str):
            customer = {"key": customer}
        cust = c.mapping(customer, "customer")
        if cust is not None:
            c.unknown(cust, {"key", "name"}, "customer")
            cust_key = c.slug(cust.get("key"), "customer.key") if "key" in cust else None
            if "key" not in cust:
                c.error("customer.key", "is required")
            name = c.text(cust["name"], "customer.name") if "name" in cust else None
            out["customer"] = {"key": cust_key, "name": name or cust_key}
    if doc.get("name") is not None:
        out["name"] = c.text(doc["name"], "name")
    out["provider"] = c.text(doc["provider"], "provider") if doc.get("provider") else ""

    if doc.get("timezone") is not None:
        tz = doc["timezone"]
        if not isinstance(tz, str) or tz not in _zones():
            c.error("timezone", f"{tz!r} is not an IANA time zone name (e.g. Europe/Berlin)")
        else:
            out["timezone"] = tz
    start = (
        c.date(doc["effective_from"], "effective_from")
        if doc.get("effective_from") is not None
        else None
    )
    end = (
        c.date(doc["effective_to"], "effective_to") if doc.get("effective_to") is not None else None
    )
    if start and end and end < start:
        c.error("effective_to", "must not be before effective_from")
    out["effective_from"] = start.isoformat() if start else None
    out["effective_to"] = end.isoformat() if end else None

    if doc.get("currency") is not None:
        currency = doc["currency"]
        if not isinstance(currency, str) or currency not in CURRENCIES:
            c.error("currency", f"{currency!r} is not an ISO 4217 currency code (e.g. EUR)")
        else:
            out["currency"] = currency
    if doc.get("monthly_fee") is not None:
        fee = doc["monthly_fee"]
        if isinstance(fee, float):
            c.error("monthly_fee", 'must be a decimal string such as "12000.00"')
        else:
            number = c.number(fee, "monthly_fee")
            if number is not None:
                if number < 0:
                    c.error("monthly_fee", "must not be negative")
                elif number.as_tuple().exponent < -2:  # type: ignore[operator]
                    c.error("monthly_fee", "must have at most 2 decimal places")
                elif number >= Decimal("1e12"):
                    c.error("monthly_fee", "is too large")
                else:
                    out["monthly_fee"] = str(number.quantize(Decimal("0.01")))

    cap = doc.get("credit_cap_percent", 100)
    cap_value = c.percent(cap, "credit_cap_percent", allow_zero=True)
    out["credit_cap_percent"] = _percent_out(cap_value) if cap_value is not None else None
    for key, default, maximum in (
        ("claim_window_days", 0, 3660),
        ("maintenance_notice_hours", 0, 8760),
        ("data_grace_hours", 24, 8760),
    ):
        out[key] = c.integer(doc.get(key, default), key, maximum=maximum)
    if doc.get("notice_period_days") is not None:
        out["notice_period_days"] = c.integer(
            doc["notice_period_days"], "notice_period_days", maximum=3660
        )
    else:
        out["notice_period_days"] = None

    out["calendars"] = _calendars(c, doc.get("calendars"))
    out["objectives"] = _objectives(c, doc.get("objectives"), set(out["calendars"] or {}))
    out["escalation"] = _escalation(c, doc.get("escalation"))
    out["measured_by"] = _measured_by(c, doc.get("measured_by"))
    out["services"] = _services(c, doc.get("services"), out["objectives"])

    if c.errors:
        raise DocumentError(c.errors)
    return out


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = set(available_timezones())
    return _ZONES


_ZONES: set[str] | None = None


def _calendars(c: _Checker, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    cals = c.mapping(value, "calendars")
    if cals is None:
        return {}
    if len(cals) > MAX_CALENDARS:
        c.error("calendars", f"at most {MAX_CALENDARS} calendars (found {len(cals)})")
        return {}
    out: dict[str, Any] = {}
    for name, body in cals.items():
        path = f"calendars.{shown(name)}"
        if c.slug(name, path) is None:
            continue
        if name == "always":
            c.error(path, '"always" is reserved for full coverage')
            continue
        cal = c.mapping(body, path)
        if cal is None:
            continue
        c.unknown(cal, {"weekly", "holidays"}, path)
        weekly_out: dict[str, list[str]] = {}
        weekly = c.mapping(cal.get("weekly"), f"{path}.weekly") if "weekly" in cal else None
        if "weekly" not in cal:
            c.error(f"{path}.weekly", "is required")
        for day, ranges in (weekly or {}).items():
            dpath = f"{path}.weekly.{shown(day)}"
            if day not in WEEKDAYS:
                c.error(dpath, "unknown weekday (use mon, tue, wed, thu, fri, sat, sun)")
                continue
            if not isinstance(ranges, list):
                c.error(dpath, 'must be a list of ranges such as ["09:00-17:00"]')
                continue
            if len(ranges) > MAX_RANGES_PER_DAY:
                c.error(dpath, f"at most {MAX_RANGES_PER_DAY} ranges a day (found {len(ranges)})")
                continue
            parsed: list[tuple[int, int]] = []
            for i, item in enumerate(ranges):
                try:
                    parsed.append(parse_range(item))
                except ValueError as error:
                    c.error(f"{dpath}[{i}]", str(error))
            parsed.sort()
            for (s1, e1), (s2, e2) in itertools.pairwise(parsed):
                if s2 < e1:
                    c.error(
                        dpath, f"ranges {format_range(s1, e1)} and {format_range(s2, e2)} overlap"
                    )
            if parsed:
                weekly_out[day] = [format_range(s, e) for s, e in parsed]
        if (
            weekly is not None
            and not weekly_out
            and not any(p.startswith(f"{path}.weekly") for p, _ in c.errors)
        ):
            c.error(f"{path}.weekly", "must have at least one range")
        holidays: list[str] = []
        raw_holidays = c.listed(
            cal.get("holidays", []), f"{path}.holidays", limit=MAX_HOLIDAYS, what="dates"
        )
        if raw_holidays is not None:
            for i, item in enumerate(raw_holidays):
                day_value = c.date(item, f"{path}.holidays[{i}]")
                if day_value is not None:
                    holidays.append(day_value.isoformat())
        out[name] = {
            "weekly": {d: weekly_out[d] for d in WEEKDAYS if d in weekly_out},
            "holidays": sorted(set(holidays)),
        }
    return out


def _objectives(c: _Checker, value: object, calendars: set[str]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        c.error("objectives", "must be a non-empty list")
        return []
    if len(value) > MAX_OBJECTIVES:
        c.error("objectives", f"at most {MAX_OBJECTIVES} objectives (found {len(value)})")
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        path = f"objectives[{i}]"
        obj = c.mapping(raw, path)
        if obj is None:
            continue
        c.unknown(obj, OBJECTIVE_KEYS, path)
        item: dict[str, Any] = {}
        key = c.slug(obj.get("key"), f"{path}.key") if "key" in obj else None
        if "key" not in obj:
            c.error(f"{path}.key", "is required")
        if key is not None:
            if key in seen:
                c.error(f"{path}.key", f"duplicate objective key {key!r}")
            seen.add(key)
        item["key"] = key
        indicator = obj.get("indicator")
        if indicator not in INDICATORS:
            c.error(f"{path}.indicator", f"must be one of {', '.join(INDICATORS)}")
            indicator = None
        item["indicator"] = indicator
        tickets = indicator in TICKET_INDICATORS
        if "service" in obj:
            if tickets:
                c.error(f"{path}.service", "not used by ticket indicators; remove it")
            else:
                item["service"] = c.slug(obj["service"], f"{path}.service")
        elif indicator is not None and not tickets:
            c.error(f"{path}.service", "is required for this indicator")
        if "source" in obj:
            if indicator != "availability":
                c.error(f"{path}.source", "only availability objectives have a source")
            elif obj["source"] not in SOURCES:
                c.error(f"{path}.source", "must be probes or incidents")
            else:
                item["source"] = obj["source"]
        elif indicator == "availability":
            item["source"] = "probes"
        if "target" not in obj:
            c.error(f"{path}.target", "is required")
        else:
            target = c.number(obj["target"], f"{path}.target")
            if target is not None:
                if not Decimal(0) < target <= Decimal(100):
                    c.error(f"{path}.target", "must be between 0 and 100 (greater than 0)")
                elif target.as_tuple().exponent < -4:  # type: ignore[operator]
                    c.error(f"{path}.target", "must have at most 4 decimal places")
                else:
                    item["target"] = _percent_out(target)
        coverage = obj.get("coverage", "always")
        if not isinstance(coverage, str):
            c.error(f"{path}.coverage", 'must be "always" or the name of a calendar')
        elif coverage != "always" and coverage not in calendars:
            names = ", ".join(sorted(calendars)) or "none defined"
            c.error(f"{path}.coverage", f"unknown calendar {coverage[:70]!r} (calendars: {names})")
        item["coverage"] = coverage
        if "threshold_ms" in obj:
            if indicator != "latency":
                c.error(f"{path}.threshold_ms", "only latency objectives have threshold_ms")
            else:
                item["threshold_ms"] = c.integer(
                    obj["threshold_ms"], f"{path}.threshold_ms", minimum=1, maximum=3_600_000
                )
        elif indicator == "latency":
            c.error(f"{path}.threshold_ms", "is required for latency objectives")
        if "threshold" in obj:
            if not tickets:
                c.error(f"{path}.threshold", "only ticket indicators have a duration threshold")
            else:
                seconds = c.duration(obj["threshold"], f"{path}.threshold")
                if seconds is not None and seconds <= 0:
                    c.error(f"{path}.threshold", "must be longer than zero")
                elif seconds is not None:
                    item["threshold"] = format_duration(seconds)
        elif tickets:
            c.error(f"{path}.threshold", "is required for ticket indicators")
        if "priority" in obj:
            if not tickets:
                c.error(f"{path}.priority", "only ticket indicators have a priority")
            else:
                item["priority"] = c.text(obj["priority"], f"{path}.priority", max_length=32)
        if "warn_at_percent" in obj:
            if not tickets:
                c.error(f"{path}.warn_at_percent", "only ticket indicators warn before a breach")
            else:
                item["warn_at_percent"] = c.integer(
                    obj["warn_at_percent"], f"{path}.warn_at_percent", minimum=1, maximum=99
                )
        item["credits"] = _tiers(c, obj.get("credits"), f"{path}.credits")
        out.append(item)
    return out


def _tiers(c: _Checker, value: object, path: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    tiers_in = c.listed(value, path, limit=MAX_TIERS, what="{below, percent} tiers")
    if tiers_in is None:
        return []
    tiers: list[tuple[Decimal, Decimal]] = []
    for i, raw in enumerate(tiers_in):
        tpath = f"{path}[{i}]"
        tier = c.mapping(raw, tpath)
        if tier is None:
            continue
        c.unknown(tier, {"below", "percent"}, tpath)
        for field in ("below", "percent"):
            if field not in tier:
                c.error(f"{tpath}.{field}", "is required")
        below = c.percent(tier["below"], f"{tpath}.below") if "below" in tier else None
        percent = c.percent(tier["percent"], f"{tpath}.percent") if "percent" in tier else None
        if below is not None and percent is not None:
            if tiers and below >= tiers[-1][0]:
                c.error(f"{tpath}.below", "tiers must be listed with strictly decreasing below")
            elif tiers and percent < tiers[-1][1]:
                c.error(f"{tpath}.percent", "a lower tier must not give a smaller percent")
            tiers.append((below, percent))
    return [{"below": _percent_out(b), "percent": _percent_out(p)} for b, p in tiers]


def _escalation(c: _Checker, value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    levels = c.listed(value, "escalation", limit=MAX_ESCALATION_LEVELS, what="levels")
    if levels is None:
        return []
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(levels):
        path = f"escalation[{i}]"
        step = c.mapping(raw, path)
        if step is None:
            continue
        c.unknown(step, {"level", "after", "contact"}, path)
        level = c.integer(step.get("level"), f"{path}.level", minimum=1, maximum=100)
        after = c.duration(step.get("after", "0m"), f"{path}.after")
        contact = c.text(step.get("contact"), f"{path}.contact", max_length=MAX_EMAIL_LENGTH)
        if contact is not None and not EMAIL.fullmatch(contact):
            c.error(f"{path}.contact", "must be an email address")
            contact = None
        if out and level is not None and out[-1]["level"] is not None and level <= out[-1]["level"]:
            c.error(f"{path}.level", "levels must be listed in increasing order")
        if (
            out
            and after is not None
            and out[-1]["_after"] is not None
            and after < out[-1]["_after"]
        ):
            c.error(f"{path}.after", "must not be earlier than the previous level's")
        out.append(
            {
                "level": level,
                "after": format_duration(after) if after is not None else None,
                "contact": contact,
                "_after": after,
            }
        )
    for step in out:
        del step["_after"]
    return out


MAX_MEASURED_BY = 20
SOURCE_NAME_LENGTH = 100  # ApiKey.name


def _measured_by(c: _Checker, value: object) -> list[str]:
    """Names of the API keys (or integrations) whose measurements count; [] means any."""
    if value is None:
        return []
    if not isinstance(value, list):
        c.error("measured_by", "must be a list of API key or integration names")
        return []
    if len(value) > MAX_MEASURED_BY:
        c.error("measured_by", f"must name at most {MAX_MEASURED_BY} sources")
        return []
    out: list[str] = []
    for index, item in enumerate(value):
        path = f"measured_by[{index}]"
        # c.text refuses anything but one line without control characters.
        name = c.text(item, path, max_length=SOURCE_NAME_LENGTH)
        if name is not None and name not in out:
            out.append(name)
    return out


MAX_SERVICES = MAX_OBJECTIVES
SERVICE_KEYS = {"name", "provider", "public"}


def _services(
    c: _Checker, value: object, objectives: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The ``services`` map: each key a service of one of the objectives, with its
    display ``name``, supplier (``provider``) and whether the public status page shows it
    (``public``, default false)."""
    if value is None:
        return {}
    services = c.mapping(value, "services")
    if services is None:
        return {}
    if len(services) > MAX_SERVICES:
        c.error("services", f"at most {MAX_SERVICES} services (found {len(services)})")
        return {}
    used = {o.get("service") for o in objectives if o}
    out: dict[str, dict[str, Any]] = {}
    for raw_key, raw in services.items():
        key = c.slug(raw_key, f"services.{shown(raw_key)}")
        if key is None:
            continue
        path = f"services.{key}"
        if key not in used:
            c.error(path, "is not the service of any objective")
            continue
        body = c.mapping(raw, path)
        if body is None:
            continue
        c.unknown(body, SERVICE_KEYS, path)
        public = body.get("public", False)
        if not isinstance(public, bool):
            c.error(f"{path}.public", "must be true or false")
            public = False
        out[key] = {
            "name": c.text(body["name"], f"{path}.name") if body.get("name") else "",
            "provider": (
                c.text(body["provider"], f"{path}.provider") if body.get("provider") else ""
            ),
            "public": public,
        }
    return out


def terms_of(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a canonical document that is versioned terms."""
    return {key: document.get(key) for key in TERMS_KEYS}


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DocumentError([("timezone", f"{name!r} is not an IANA time zone name")]) from None
