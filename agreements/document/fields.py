"""Field syntaxes shared by the document and the terms shown to people: durations, local
time ranges, percents written back as entered, and IANA zones.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from agreements.document.vocabulary import DURATION, RANGE, UNIT_SECONDS, DocumentError


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


def _plain(number: Decimal) -> str:
    """Canonical text of a percent: no exponent, no trailing zeros."""
    text = format(number.normalize(), "f")
    return text


def _percent_out(number: Decimal) -> int | float | str:
    # Percents are written back as YAML/JSON numbers, exactly as entered.
    if number == number.to_integral_value():
        return int(number)
    return _plain(number)


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = set(available_timezones())
    return _ZONES


_ZONES: set[str] | None = None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DocumentError([("timezone", f"{name!r} is not an IANA time zone name")]) from None
