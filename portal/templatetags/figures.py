"""Template filters for figures shown to people, all from ``agreements.display`` (rule 19).

``{% load figures %}`` then ``{{ e.achieved|percent:e.target }}``, ``{{ amount|money }}``,
``{{ seconds|duration }}``, ``{{ n|count:"minutes" }}``, ``{{ term|plain }}``,
``{{ rate|multiple }}``, ``{{ e.attribution|attribution:e.unit }}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from agreements import display
from credits import bounded

register = template.Library()


@register.filter
def percent(value: Decimal | None, target: Decimal | None = None) -> str:
    return display.percent(value, target)


@register.filter
def money(value: Decimal | None) -> str:
    return display.money(value)


@register.filter
def duration(value: Decimal | int | None) -> str:
    return display.duration(value)


@register.filter
def time_left(value: Decimal | int, coverage: str) -> str:
    return display.time_left(value, coverage)


@register.filter
def time_over(value: Decimal | int, coverage: str) -> str:
    return display.time_over(value, coverage)


@register.filter
def count(value: Decimal | int, unit: str = "") -> str:
    return display.count(value, unit)


@register.filter
def plain(value: Decimal | int) -> str:
    return display.plain(value)


@register.filter
def multiple(value: Decimal | None) -> str:
    return "—" if value is None else display.multiple(value)


@register.filter
def attribution(shares: list[dict[str, str]], unit: str) -> str:
    return display.attribution(shares, unit)


@register.filter
def achieved(evaluation: Any) -> str:
    """An evaluation's achieved figure with its unit (rules 15, 19): ``{{ e|achieved }}``."""
    return bounded.achieved_text(evaluation)
