"""What an open period would cost: if it closed now, and if the rest of it went on at
the recent rate. Both are projections, never ledger amounts (rule 12 applies at close)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from agreements import engine
from agreements.models import Agreement
from credits.evaluation import Job, ObjectiveResult, evaluate_many
from credits.models import Evaluation, Period
from credits.terms import terms_of

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)


def recent_window(elapsed: dt.timedelta) -> tuple[dt.timedelta, str]:
    """The window the recent rate is taken over: the last 7 days once the period has run
    that long, else the last 24 hours, else the period so far; and its name in words."""
    if elapsed >= WEEK:
        return WEEK, "the last 7 days"
    if elapsed >= DAY:
        return DAY, "the last 24 hours"
    return elapsed, "the period so far"


def forecast(
    *, agreement: Agreement, period: Period, evaluations: list[Evaluation], now: dt.datetime
) -> dict[str, Any]:
    """The credit the open ``period`` would enter if it closed now, and at its end if every
    objective's good and bad units keep coming at their recent rate (``recent_window``).

    Returns ``{"label": "projection", "note", "if_closed_now", "at_current_burn_rate"
    (amounts as strings with two decimals), "window" (words), "window_hours",
    "elapsed_fraction"}``. Costs one evaluation of the recent window (a constant number
    of queries).
    """
    terms = terms_of(period.terms_version.terms)
    tiers = {o.key: o.tiers for o in terms.objectives}
    until = min(max(now, period.start), period.end)
    elapsed, to_come = until - period.start, period.end - until
    window, words = recent_window(elapsed)
    recent = _recent(agreement, period, until, window)
    projected_percents = []
    for e in evaluations:
        r = recent.get(e.objective_key)
        good, bad = engine.project(
            good=e.good,
            bad=e.bad,
            recent_good=r.figures.good if r else Decimal(0),
            recent_bad=r.figures.bad if r else Decimal(0),
            recent_seconds=Decimal(window.total_seconds()),
            seconds_to_come=Decimal(to_come.total_seconds()),
        )
        projected_percents.append(
            engine.credit_percent(engine.achieved(good, bad), tiers.get(e.objective_key, ()))
        )
    fee, cap = terms.monthly_fee, terms.credit_cap_percent
    if_closed_now = credit_if_closed_now(period=period, evaluations=evaluations)
    at_rate = engine.period_credit(monthly_fee=fee, percents=projected_percents, cap_percent=cap)
    total = period.end - period.start
    return {
        "label": "projection",
        "note": "Projections, not amounts owed: the credit is fixed when the period closes.",
        "if_closed_now": f"{if_closed_now:.2f}",
        "at_current_burn_rate": f"{at_rate:.2f}",
        "window": words,
        "window_hours": round(window.total_seconds() / 3600, 2),
        "elapsed_fraction": round(elapsed / total, 4) if total else 1.0,
    }


def credit_if_closed_now(*, period: Period, evaluations: list[Evaluation]) -> Decimal:
    """The credit (in the agreement's currency, rounded by rule 12) the open ``period``
    would enter if it closed with the figures of ``evaluations``: each objective's credit
    percent from its achieved figure and tiers (rule 11), then the period's (rule 12).
    Reads no rows beyond the period's terms version."""
    terms = terms_of(period.terms_version.terms)
    tiers = {o.key: o.tiers for o in terms.objectives}
    percents = [
        engine.credit_percent(engine.achieved(e.good, e.bad), tiers.get(e.objective_key, ()))
        for e in evaluations
    ]
    return engine.period_credit(
        monthly_fee=terms.monthly_fee, percents=percents, cap_percent=terms.credit_cap_percent
    )


def _recent(
    agreement: Agreement, period: Period, until: dt.datetime, window: dt.timedelta
) -> dict[str, ObjectiveResult]:
    """Each objective's figures over the recent window only."""
    if window <= dt.timedelta(0):
        return {}
    job = Job(
        agreement, period.period, period.terms_version, until, closed=False, since=until - window
    )
    result = evaluate_many([job])[0]
    return {r.terms.key: r for r in result.objectives} if result is not None else {}
