"""The one error-budget figure shown to people for an evaluation (rules 11 and 19): the
objective card's words, gauge and burn-down, the staff overview and the API's budget_text
all read it here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agreements import display
from credits.models import Evaluation


@dataclass(frozen=True)
class Budget:
    """The one error-budget figure a card shows (gauge, words and burn-down alike).

    ``total`` and ``spent`` are in the objective's unit; for indivisible units (minutes,
    probes, events, tickets) ``total`` is the whole number of bad units the target allows
    (rule 11), so "0 tickets allowed" rather than half a ticket. ``percent`` is the share
    of ``total`` left (negative when overspent), None when the target allows nothing.
    """

    total: Decimal
    spent: Decimal
    percent: Decimal | None
    text: str


def budget_shown(e: Evaluation | None) -> Budget | None:
    """The error budget of evaluation ``e`` as people read it (rules 11 and 19)."""
    if e is None or e.good + e.bad == 0:
        return None
    if e.unit == "seconds":
        total, spent = e.budget_total, e.bad
        left = f"{display.duration(max(total - spent, Decimal(0)))} of {display.duration(total)}"
    else:
        total, spent = Decimal(int(e.budget_total)), e.bad
        left = f"{display.count(max(total - spent, Decimal(0)))} of {display.count(total, e.unit)}"
    if total <= 0:
        text = f"the target allows no {e.unit} this period"
        if spent:
            text += f"; {display.count(spent, e.unit)} so far"
        return Budget(total, spent, None, text)
    percent = (total - spent) * 100 / total
    if spent > total:
        over = (
            display.duration(spent - total)
            if e.unit == "seconds"
            else display.count(spent - total, e.unit)
        )
        return Budget(total, spent, percent, f"overspent by {over}")
    return Budget(total, spent, percent, f"{display.percent(percent)} left ({left})")
