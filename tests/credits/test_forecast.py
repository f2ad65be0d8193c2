"""The forecast projects the rest of an open period at the recent rate (issue: a
forecast that forecasts), so it differs from "if closed now" when the recent rate does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from credits.forecast import forecast, recent_window
from credits.models import Evaluation, Period
from credits.recompute import recompute_agreement
from tests.credits.test_ledger import MARCH, load, shop

pytestmark = pytest.mark.django_db


def test_recent_window_is_a_week_a_day_or_the_period_so_far() -> None:
    assert recent_window(dt.timedelta(days=9))[1] == "the last 7 days"
    assert recent_window(dt.timedelta(days=2))[1] == "the last 24 hours"
    assert recent_window(dt.timedelta(hours=5)) == (dt.timedelta(hours=5), "the period so far")


def test_a_recent_rate_better_than_the_period_so_far_projects_a_smaller_credit() -> None:
    agreement = shop()
    # A whole first day down, then seven days up: 87.5 % so far (below 90: 30 %), but the
    # last 7 days were perfect, and 23 more such days end March at 96.77 % (below 99: 10 %).
    load(ok=7 * 1440, failed=1440)
    now = MARCH + dt.timedelta(days=8)
    recompute_agreement(agreement_id=agreement.pk, now=now)
    period = Period.objects.get(period="2026-03")
    evaluations = list(Evaluation.objects.filter(period=period, revision=period.revision))
    projection = forecast(agreement=agreement, period=period, evaluations=evaluations, now=now)
    assert projection["window"] == "the last 7 days"
    assert projection["if_closed_now"] == "300.00"
    assert projection["at_current_burn_rate"] == "100.00"
    assert Decimal(projection["at_current_burn_rate"]) != Decimal(projection["if_closed_now"])


def test_a_steady_rate_projects_what_closing_now_would_enter() -> None:
    agreement = shop()
    load(ok=1440, failed=0)
    now = MARCH + dt.timedelta(days=1)
    recompute_agreement(agreement_id=agreement.pk, now=now)
    period = Period.objects.get(period="2026-03")
    evaluations = list(Evaluation.objects.filter(period=period, revision=period.revision))
    projection = forecast(agreement=agreement, period=period, evaluations=evaluations, now=now)
    assert projection["window"] == "the last 24 hours"
    assert projection["if_closed_now"] == projection["at_current_burn_rate"] == "0.00"
