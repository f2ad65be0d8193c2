"""Figures as people read them: the one formatter of SPEC rule 19.

Every percent, amount of money, duration and count shown to a person goes through this
module, so the same figure reads the same on every page, statement (PDF and CSV), email
and API text. Pure functions over plain values, no framework: credits, notifications and
the portal may all use it. See docs/rules.md#rule-19--figures-shown-to-people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

__all__ = [
    "attribution",
    "count",
    "duration",
    "measured",
    "milliseconds",
    "money",
    "multiple",
    "percent",
    "percent_digits",
    "plain",
    "time_left",
]

NO_DATA = "no data"
_MIN_PERCENT_PLACES = 3
_CENT = Decimal("0.01")


def _decimal(value: Decimal | int | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _places(value: Decimal | int | float | str | None) -> int:
    """Decimals ``value`` has once trailing zeros are dropped: 99.9000 -> 1, 100 -> 0."""
    if value is None:
        return 0
    exponent = _decimal(value).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def percent_digits(
    value: Decimal | int | float | str, target: Decimal | int | float | str | None = None
) -> str:
    """The digits of ``percent`` without the sign, for machine-read columns (CSV).

    Truncated toward zero to at least three decimals and at least as many as ``target``
    has: ``percent_digits(Decimal("91.6666"))`` -> ``"91.666"``.
    """
    places = max(_MIN_PERCENT_PLACES, _places(target))
    shown = _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    if shown == 0:
        shown = abs(shown)  # never "-0.000"
    return f"{shown:f}"


def percent(
    value: Decimal | int | float | str | None,
    target: Decimal | int | float | str | None = None,
) -> str:
    """A percent for people (rule 19): truncated, never rounded up, so a figure below its
    target never reads as reaching it.

    At least three decimals, and at least as many as ``target`` has (its trailing zeros
    do not count); the decimals kept are all printed. ``None`` reads "no data".

    >>> percent(Decimal("99.99962"), Decimal("99.9999"))
    '99.9996%'
    >>> percent(Decimal("91.66666"))
    '91.666%'
    >>> percent(None)
    'no data'
    """
    if value is None:
        return NO_DATA
    return f"{percent_digits(value, target)}%"


def money(amount: Decimal | int | str | None, *, grouped: bool = True) -> str:
    """An amount to two decimals, half-up (rule 12's rounding), with thousands separators.

    ``money(Decimal("6000"))`` -> ``"6,000.00"``; ``None`` reads ``"0.00"``.
    ``grouped=False`` drops the separators for machine-read columns (CSV): ``"6000.00"``.
    """
    value = _decimal(amount or 0).quantize(_CENT, rounding=ROUND_HALF_UP)
    return f"{value:,.2f}" if grouped else f"{value:.2f}"


def money_exact(amount: Decimal | int | str | None, *, grouped: bool = True) -> str:
    """An amount exactly as computed, never rounded: at least two decimals, more when the
    amount has them (``5.0025`` -> ``"5.0025"``, ``5`` -> ``"5.00"``). Statement lines
    print this way so that they add up, as printed, to the unrounded subtotal (rule 19)."""
    value = _decimal(amount or 0).normalize()
    places = max(2, -value.as_tuple().exponent) if value else 2  # type: ignore[operator]
    return f"{value:,.{places}f}" if grouped else f"{value:.{places}f}"


def duration(seconds: Decimal | int | float | None, *, days: bool = True) -> str:
    """A duration to the whole minute: 95 min -> ``"1 h 35 min"``, 2 days -> ``"2 d"``;
    with ``days=False`` in hours only (``"48 h"``), for covered time such as business
    hours, where a day of 24 hours means nothing.

    Under a minute reads in seconds (``"42 s"``); ``None`` reads ``"—"``.
    """
    if seconds is None:
        return "—"
    total = round(float(seconds))
    if total < 60:
        return f"{total} s"
    whole_days, rest = divmod(total // 60, 1440) if days else (0, total // 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if whole_days:
        parts.append(f"{whole_days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def time_left(seconds: Decimal | int | float, coverage: str) -> str:
    """Covered time still left on a ticket's clock (rule 8), in words: 130 min of the
    calendar ``business-hours`` -> ``"2 h 10 min of business hours left"``; coverage
    ``always`` -> ``"2 h 10 min left"``; under a minute in seconds, never below ``"0 s"``."""
    return _covered(seconds, coverage, "left")


def time_over(seconds: Decimal | int | float, coverage: str) -> str:
    """Covered time a ticket went past its threshold (rule 8), in words, like
    ``time_left``: ``"38 h 30 min of business hours over"``, ``"2 d 1 h over"``."""
    return _covered(seconds, coverage, "over")


def _covered(seconds: Decimal | int | float, coverage: str, word: str) -> str:
    # Covered time of a calendar is counted in hours: its days are not 24 hours long.
    amount = max(Decimal(0), _decimal(seconds)).to_integral_value(rounding=ROUND_DOWN)
    if coverage == "always":
        return f"{duration(amount)} {word}"
    calendar = coverage.replace("-", " ").replace("_", " ")
    return f"{duration(amount, days=False)} of {calendar} {word}"


def count(n: Decimal | int | float, unit: str = "") -> str:
    """A count of indivisible units as a whole number (rule 19): ``count(60, "minutes")``
    -> ``"60 minutes"``. A fraction (which a count should not have) is truncated."""
    whole = int(_decimal(n).to_integral_value(rounding=ROUND_DOWN))
    return f"{whole} {unit}" if unit else str(whole)


def plain(value: Decimal | int | float | str) -> str:
    """A decimal as written in the agreement: integers as integers (``"44562"``, not
    ``"44562.000000"``), otherwise without trailing zeros (``99.90`` -> ``"99.9"``)."""
    text = f"{_decimal(value):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def milliseconds(value: Decimal | int | float) -> str:
    """A latency to one decimal, half-up: ``milliseconds(95)`` -> ``"95.0 ms"``."""
    return f"{_decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f} ms"


def multiple(value: Decimal | int | float) -> str:
    """A rate as a multiple of the sustainable one, truncated to one decimal so a burn
    just under a threshold never reads as reaching it: ``multiple(14.39)`` -> ``"14.3×"``."""
    shown = _decimal(value).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return f"{abs(shown) if shown == 0 else shown:f}×"


def attribution(shares: Iterable[Mapping[str, str]], unit: str) -> str:
    """Rule 18's attribution of an objective over several services, in words: each
    service, its supplier and the bad time it was down for, e.g. ``"web-frontend
    (Example Web Ltd) 10 min, payments-gateway (PayCo) 20 min"``. ``shares`` as stored
    on an evaluation (``service``, ``provider``, ``bad`` as a decimal string); ``unit``
    ``minutes`` or ``seconds``. Empty for an objective over one service."""
    parts = []
    for share in shares:
        bad = _decimal(share["bad"]) * (60 if unit == "minutes" else 1)
        who = (
            f"{share['service']} ({share['provider']})"
            if share.get("provider")
            else share["service"]
        )
        parts.append(f"{who} {duration(bad)}")
    return ", ".join(parts)


_MINUTE = Decimal(60)
_MS_STEP = Decimal("0.1")
_METRIC_STEP = Decimal("0.001")


def measured(
    value: Decimal | int | float | None,
    unit: str,
    *,
    target: Decimal | int | float | str | None = None,
    bound: str = "",
) -> str:
    """An objective's achieved figure with its unit (rules 15, 19): a percent (``%``) as
    ``percent``; seconds (``s``, mttr and mtbf) as a duration, ``"1 h 30 min"``;
    milliseconds (``ms``) to one decimal, ``"12.4 ms"``; a metric's value to three
    decimals followed by its unit's name, ``"912.5 throughput_mbps"``.

    Cut so a figure outside its bound never reads as within it: up for a ``max`` bound,
    down for a ``min`` bound (``bound``). ``None`` reads "no data".
    """
    if unit == "%":
        return percent(value, target)
    if value is None:
        return NO_DATA
    number = _decimal(value)
    rounding = ROUND_UP if bound == "max" else ROUND_DOWN
    if unit == "s":
        if abs(number) < _MINUTE:
            return duration(number.quantize(Decimal(1), rounding=rounding))
        return duration((number / _MINUTE).quantize(Decimal(1), rounding=rounding) * _MINUTE)
    if unit == "ms":
        return f"{number.quantize(_MS_STEP, rounding=rounding):f} ms"
    return f"{plain(number.quantize(_METRIC_STEP, rounding=rounding))} {unit}".rstrip()
