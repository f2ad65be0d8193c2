"""What an open period would cost: if it closed now, and at the current burn rate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from agreements import engine
from agreements.models import Agreement
from credits.models import Evaluation, Period
from credits.terms import terms_of


def forecast(
    *, agreement: Agreement, period: Period, evaluations: list[Evaluation], now: dt.datetime
) -> dict[str, Any]:
    """Both figures are projections, never ledger amounts.

    At the current burn rate: each objective's bad units grow in proportion to the time
    still to come, at the pace observed so far in the period (good units likewise).
    """
    terms = terms_of(period.terms_version.terms)
    tiers = {o.key: o.tiers for o in terms.objectives}
    elapsed = max(dt.timedelta(0), min(now, period.end) - period.start)
    total = period.end - period.start
    scale = Decimal(total / elapsed) if elapsed > dt.timedelta(0) else Decimal(1)
    now_percents, projected_percents = [], []
    for e in evaluations:
        now_percents.append(
            engine.credit_percent(_achieved(e.good, e.bad), tiers.get(e.objective_key, ()))
        )
        projected_percents.append(
            engine.credit_percent(
                _achieved(e.good * scale, e.bad * scale), tiers.get(e.objective_key, ())
            )
        )
    fee, cap = terms.monthly_fee, terms.credit_cap_percent
    if_closed_now = engine.period_credit(monthly_fee=fee, percents=now_percents, cap_percent=cap)
    at_burn = engine.period_credit(monthly_fee=fee, percents=projected_percents, cap_percent=cap)
    return {
        "label": "projection",
        "note": "Projections, not amounts owed: the credit is fixed when the period closes.",
        "if_closed_now": f"{if_closed_now:.2f}",
        "at_current_burn_rate": f"{at_burn:.2f}",
        "elapsed_fraction": float(round(1 / scale, 4)) if scale else 0.0,
    }


def _achieved(good: Decimal, bad: Decimal) -> Decimal | None:
    if good + bad == 0:
        return None
    return good * 100 / (good + bad)
