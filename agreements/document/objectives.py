"""The ``objectives`` section and their credit tiers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agreements.document.checker import _Checker, _tier_pairs
from agreements.document.combined import _bonus, _several_services
from agreements.document.fields import _percent_out, format_duration
from agreements.document.forms import BOUNDED_INDICATORS, FORM_INDICATORS, check_form
from agreements.document.vocabulary import (
    INDICATORS,
    MAX_OBJECTIVES,
    OBJECTIVE_KEYS,
    SOURCES,
    TICKET_INDICATORS,
)


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
        elif indicator is not None and not tickets and "services" not in obj:
            c.error(f"{path}.service", "is required for this indicator")
        _several_services(c, obj, item, path, indicator)
        if "source" in obj:
            if indicator != "availability":
                c.error(f"{path}.source", "only availability objectives have a source")
            elif obj["source"] not in SOURCES:
                c.error(f"{path}.source", "must be probes or incidents")
            else:
                item["source"] = obj["source"]
        elif indicator == "availability":
            item["source"] = "probes"
        form = check_form(c, obj, path, indicator)
        if indicator in FORM_INDICATORS:
            pass  # bounded by max or min instead of a target (rules 15-17)
        elif "target" not in obj:
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
        if indicator in BOUNDED_INDICATORS:
            item["credits"] = form.pop("credits", [])  # above/below in the value's unit
        else:
            item["credits"] = _tiers(c, obj.get("credits"), f"{path}.credits")
        item |= form
        if obj.get("bonus") is not None:
            item["bonus"] = _bonus(c, obj["bonus"], f"{path}.bonus")
        out.append(item)
    return out


def _tiers(c: _Checker, value: object, path: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    tiers: list[tuple[Decimal, Decimal]] = []
    for tpath, below, percent in _tier_pairs(c, value, path, "below"):
        if tiers and below >= tiers[-1][0]:
            c.error(f"{tpath}.below", "tiers must be listed with strictly decreasing below")
        elif tiers and percent < tiers[-1][1]:
            c.error(f"{tpath}.percent", "a lower tier must not give a smaller percent")
        tiers.append((below, percent))
    return [{"below": _percent_out(b), "percent": _percent_out(p)} for b, p in tiers]


def check_credit_tiers(
    value: object, path: str = "credits"
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """An objective's credit tiers checked as the document checks them (rule of the
    ``credits`` field: ``{below, percent}`` pairs, percents in (0, 100] with at most four
    decimals, ``below`` strictly decreasing, a lower tier never giving a smaller percent).

    ``value`` is the document's list, e.g. ``[{"below": "99.9", "percent": "10"}]``.
    Returns ``(tiers, errors)``: the normalized tiers and the document's own
    ``(path, message)`` errors, e.g. ``("credits[1].percent", "a lower tier must not
    give a smaller percent")``; the tiers are only meaningful when there are no errors.
    """
    c = _Checker()
    tiers = _tiers(c, value, path)
    return tiers, c.errors
