"""From counts to verdicts: achieved, projection, error budget and burn rate (rule 11),
status (rules 9, 10) and credits (rule 12).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from .basics import _CENT, _DECIMAL, _HUNDRED, _percent
from .words import Status

_AT_RISK_SPENT_SHARE = Decimal("0.75")
_AT_RISK_BURN_RATE = Decimal("14.4")


@dataclass(frozen=True)
class Budget:
    """An error budget: allowed bad units, spent, remaining (absolute and percent of total)."""

    total: Decimal
    spent: Decimal
    remaining: Decimal
    remaining_percent: Decimal | None


def achieved(good: Decimal | int, bad: Decimal | int) -> Decimal | None:
    """100 × good / (good + bad), exact to 40 digits; None without data (rule 9)."""
    return _percent(good, Decimal(good) + Decimal(bad)) if good or bad else None


def project(
    *,
    good: Decimal,
    bad: Decimal,
    recent_good: Decimal,
    recent_bad: Decimal,
    recent_seconds: Decimal,
    seconds_to_come: Decimal,
) -> tuple[Decimal, Decimal]:
    """An open period's (good, bad) at its end if the rest of it goes at the recent rate:
    the counts so far plus ``recent_*`` (counted over the last ``recent_seconds``) scaled
    to the ``seconds_to_come``. Units are those of the counts (minutes, seconds, probes,
    events, tickets). A projection, never a figure of record."""
    if recent_seconds <= 0 or seconds_to_come <= 0:
        return good, bad
    with localcontext(_DECIMAL):
        scale = seconds_to_come / recent_seconds
        return good + recent_good * scale, bad + recent_bad * scale


# --------------------------------------------------------------------------------------------
# Budget, burn rate, status (rules 9-11)
# --------------------------------------------------------------------------------------------


def error_budget(
    *, target: Decimal, good: Decimal, bad: Decimal, reachable: Decimal | None = None
) -> Budget:
    """Rule 11: budget = (100 − target)% of the denominator; spent = bad.

    The denominator is good + bad, or for a time-based indicator in an open period
    ``reachable``: the largest denominator the period can still reach (probes: eligible
    minutes with data so far plus the eligible minutes to come, see ``minutes_to_come``;
    incidents: the whole period's covered seconds). Units as ``good`` and ``bad``.
    """
    denominator = good + bad if reachable is None else max(reachable, good + bad)
    with localcontext(_DECIMAL):
        total = (_HUNDRED - target) * denominator / _HUNDRED
        remaining = total - bad
        percent = _HUNDRED * remaining / total if total else None
    return Budget(total=total, spent=bad, remaining=remaining, remaining_percent=percent)


def burn_rate(*, target: Decimal, good: Decimal, bad: Decimal) -> Decimal | None:
    """Bad share of the window divided by the sustainable bad share (100 − target)%.

    Pass the last hour's counts. None without data; Infinity for any bad unit at target 100.
    """
    total = good + bad
    if not total:
        return None
    with localcontext(_DECIMAL):
        allowed = (_HUNDRED - target) / _HUNDRED
        if not allowed:
            return Decimal("Infinity") if bad else Decimal(0)
        return (bad / total) / allowed


def status(
    *,
    achieved: Decimal | None,
    target: Decimal,
    budget: Budget,
    burn_rate_1h: Decimal | None,
    closed: bool,
    time_based: bool = False,
) -> Status:
    """Rule 10: NO_DATA, BREACHED, MET, or (open periods only) AT_RISK.

    A closed period is met when achieved >= target. While open, figures are so far: a
    ``time_based`` objective (availability) is BREACHED only once its bad time exceeds the
    whole period's budget (``budget`` built with ``reachable``), so it can no longer be met;
    a count-based one once achieved so far < target. BREACHED while open therefore stays
    BREACHED at close. Otherwise AT_RISK when more than 75% of the budget is spent or the
    last hour burns it 14.4 times faster than sustainable.
    """
    if achieved is None:
        return Status.NO_DATA
    if closed:
        return Status.MET if achieved >= target else Status.BREACHED
    with localcontext(_DECIMAL):
        cannot_be_met = budget.spent > budget.total if time_based else achieved < target
    if cannot_be_met:
        return Status.BREACHED
    with localcontext(_DECIMAL):
        overspending = budget.spent > _AT_RISK_SPENT_SHARE * budget.total
    burning = burn_rate_1h is not None and burn_rate_1h >= _AT_RISK_BURN_RATE
    return Status.AT_RISK if overspending or burning else Status.MET


# --------------------------------------------------------------------------------------------
# Credits (rule 12)
# --------------------------------------------------------------------------------------------


def credit_percent(achieved: Decimal | None, tiers: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """Percent of the tier with the lowest ``below`` still greater than ``achieved``.

    Tiers are ``(below, percent)``. Decimal(0) when no tier applies or there is no data. Two
    tiers with the same ``below`` (which the document should refuse) give the larger percent.
    """
    if achieved is None:
        return Decimal(0)
    applicable = [(below, -percent) for below, percent in tiers if below > achieved]
    if not applicable:
        return Decimal(0)
    return -min(applicable)[1]


def bonus_percent(achieved: Decimal | None, tiers: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """Rule 12, bonus tiers: percent of the tier with the highest ``above`` still lower than
    ``achieved`` (the provider earns it). Tiers are ``(above, percent)``; Decimal(0) when
    no tier applies or there is no data."""
    if achieved is None:
        return Decimal(0)
    applicable = [(above, percent) for above, percent in tiers if above < achieved]
    if not applicable:
        return Decimal(0)
    return max(applicable)[1]


def period_bonus(*, monthly_fee: Decimal, percents: Iterable[Decimal]) -> Decimal:
    """Rule 12: Σ objective bonuses (monthly_fee × percent / 100), half-up to 0.01. A
    positive amount the provider earns, shown beside the credit and never netted into it."""
    with localcontext(_DECIMAL):
        earned = sum(
            (objective_credit(monthly_fee=monthly_fee, percent=p) for p in percents), Decimal(0)
        )
        return earned.quantize(_CENT, rounding=ROUND_HALF_UP)


def objective_credit(*, monthly_fee: Decimal, percent: Decimal) -> Decimal:
    """Rule 12: one objective's credit, monthly_fee × percent / 100, exact (not rounded)."""
    with localcontext(_DECIMAL):
        return monthly_fee * percent / _HUNDRED


def period_credit_cap(*, monthly_fee: Decimal, cap_percent: Decimal) -> Decimal:
    """Rule 12: the most a period can credit, monthly_fee × cap_percent / 100, exact."""
    with localcontext(_DECIMAL):
        return monthly_fee * cap_percent / _HUNDRED


def period_credit(
    *, monthly_fee: Decimal, percents: Iterable[Decimal], cap_percent: Decimal
) -> Decimal:
    """Rule 12: Σ objective credits, capped at cap_percent of the fee, half-up to 0.01."""
    with localcontext(_DECIMAL):
        earned = sum(
            (objective_credit(monthly_fee=monthly_fee, percent=p) for p in percents), Decimal(0)
        )
        cap = period_credit_cap(monthly_fee=monthly_fee, cap_percent=cap_percent)
        return min(earned, cap).quantize(_CENT, rounding=ROUND_HALF_UP)
