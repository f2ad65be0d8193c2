"""Formatting helpers shared by the CSV and PDF renderings of a statement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from agreements import display
from credits.statements import Evidence, Statement

_CENT = Decimal("0.01")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Neutralise spreadsheet formula injection in free-text cells."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _money(amount: Decimal) -> str:
    """An amount for a machine-read cell: two decimals, half-up, no separators."""
    return display.money(amount, grouped=False)


def _exact(value: Decimal | None) -> str:
    """A count or term as written (integers as integers); empty for missing values."""
    return "" if value is None else display.plain(value)


def _percent_cell(value: Decimal | None, target: Decimal | None = None) -> str:
    """A percent for a machine-read cell, truncated as on every page; empty for none."""
    return "" if value is None else display.percent_digits(value, target)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _duration_minutes(start: datetime, end: datetime) -> Decimal:
    return (Decimal(int((end - start).total_seconds())) / 60).quantize(_CENT, ROUND_HALF_UP)


def _ordered_evidence(statement: Statement) -> Iterator[tuple[str, Evidence]]:
    """Evidence in objective order, then any keys without an objective line, sorted."""
    keys = [line.key for line in statement.objectives]
    extra = sorted(key for key in statement.evidence if key not in keys)
    for key in [*keys, *extra]:
        evidence = statement.evidence.get(key)
        if evidence is not None:
            yield key, evidence


def _rounding_note(s: Statement) -> str:
    """How the total was rounded, when rounding changed it (rule 19)."""
    exact = min(s.subtotal, s.cap_amount)
    if exact == s.credit_total:
        return ""
    return f"; {display.money_exact(exact, grouped=False)} rounded half-up to the cent"
