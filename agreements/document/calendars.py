"""The ``calendars`` section: weekly local ranges and holidays."""

from __future__ import annotations

import itertools
from typing import Any

from agreements.document.checker import _Checker
from agreements.document.fields import format_range, parse_range
from agreements.document.vocabulary import MAX_CALENDARS, MAX_HOLIDAYS, MAX_RANGES_PER_DAY, WEEKDAYS
from agreements.text import shown


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
