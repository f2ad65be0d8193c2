"""``_Checker``: collects every problem of a document as ``path: message`` and reads typed values."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from agreements.document.fields import parse_duration
from agreements.document.vocabulary import EARLIEST_DATE, LATEST_DATE, MAX_DURATION, MAX_TIERS, SLUG
from agreements.text import TextError, shown, single_line


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


def _tier_pairs(
    c: _Checker, value: object, path: str, bound: str, *, allow_zero: bool = False
) -> list[tuple[str, Decimal, Decimal]]:
    """The well-formed tiers ``{<bound>, percent}`` of a tier list, as ``(path, bound,
    percent)``; every malformed one is reported on ``c`` and left out. Shared by credit
    tiers (``below``) and bonus tiers (``above``), which then check their own order."""
    listed = c.listed(value, path, limit=MAX_TIERS, what=f"{{{bound}, percent}} tiers")
    if listed is None:
        return []
    out = []
    for i, raw in enumerate(listed):
        tpath = f"{path}[{i}]"
        tier = c.mapping(raw, tpath)
        if tier is None:
            continue
        c.unknown(tier, {bound, "percent"}, tpath)
        for field in (bound, "percent"):
            if field not in tier:
                c.error(f"{tpath}.{field}", "is required")
        limit = (
            c.percent(tier[bound], f"{tpath}.{bound}", allow_zero=allow_zero)
            if bound in tier
            else None
        )
        percent = c.percent(tier["percent"], f"{tpath}.percent") if "percent" in tier else None
        if limit is not None and percent is not None:
            out.append((tpath, limit, percent))
    return out
