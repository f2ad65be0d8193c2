"""Bonuses (rule 12) and attribution (rule 18) as the API and statements give them."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from agreements import display, engine
from agreements.models import Agreement
from credits.models import Evaluation, Period


def bonus_amount(row: Period, evaluations: Sequence[Evaluation]) -> Decimal:
    """The period's bonus: as closed (``Period.bonus_amount``), or so far while open,
    from its evaluations' bonus percents and the monthly fee of its terms."""
    if row.is_closed:
        return row.bonus_amount or Decimal("0.00")
    fee = Decimal(row.terms_version.terms["monthly_fee"])
    return engine.period_bonus(monthly_fee=fee, percents=[e.bonus_percent for e in evaluations])


def bonus_json(
    agreement: Agreement, row: Period, evaluations: Sequence[Evaluation]
) -> dict[str, Any]:
    """``{"amount", "currency"}`` (plus ``"final": false`` while open), a decimal string."""
    body: dict[str, Any] = {
        "amount": f"{bonus_amount(row, evaluations):.2f}",
        "currency": agreement.currency,
    }
    if not row.is_closed:
        body["final"] = False
    return body


def combined_json(e: Evaluation) -> dict[str, Any]:
    """An objective's bonus percent, and for one over several services its attribution."""
    body: dict[str, Any] = {"bonus_percent": _number(e.bonus_percent)}
    if e.attribution:
        body["attribution"] = [
            {
                "service": a["service"],
                "name": a.get("name", ""),
                "provider": a.get("provider", ""),
                "bad": _number(Decimal(a["bad"])),
                "unit": e.unit,
            }
            for a in e.attribution
        ]
        body["attribution_text"] = display.attribution(e.attribution, e.unit)
    return body


def _number(value: Decimal) -> float | int:
    # As credits.api gives every figure: a whole number as an integer.
    return int(value) if value == value.to_integral_value() else float(value)
