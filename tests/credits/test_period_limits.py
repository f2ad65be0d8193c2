"""A month of the largest measurements ingestion accepts can still be evaluated and closed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from agreements.models import Service
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.models import Evaluation, Period
from credits.recompute import recompute_agreement
from metrics.limits import MAX_MINUTE_TOTAL, MAX_PERIOD_MINUTES
from metrics.models import EventCount

UTC = dt.UTC
# October 2026 in Berlin is the longest kind of period: 31 days and the hour that the
# end of daylight-saving time adds.
START = dt.datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
END = dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
AFTER = dt.datetime(2026, 11, 2, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "field", ["good", "bad", "eligible", "budget_total", "budget_spent", "budget_remaining"]
)
def test_a_period_of_maximal_minutes_fits_the_evaluation_columns(field: str) -> None:
    column = Evaluation._meta.get_field(field)
    whole_digits = column.max_digits - column.decimal_places  # type: ignore[attr-defined, operator]
    largest_sum = MAX_PERIOD_MINUTES * MAX_MINUTE_TOTAL
    assert largest_sum < 10**whole_digits
    assert (END - START) / dt.timedelta(minutes=1) <= MAX_PERIOD_MINUTES


@pytest.mark.django_db(transaction=True)
def test_a_month_of_maximal_event_minutes_recomputes_and_closes(db: Any) -> None:
    with time_machine.travel(START, tick=False):
        agreement = agreement_import(
            data={
                "agreement": "big-pipe",
                "customer": {"key": "big", "name": "Big"},
                "name": "Big pipe",
                "timezone": "Europe/Berlin",
                "effective_from": "2026-10-01",
                "currency": "EUR",
                "monthly_fee": "1000.00",
                "objectives": [
                    {
                        "key": "delivery",
                        "service": "pipe",
                        "indicator": "ratio",
                        "target": 99,
                        "credits": [{"below": 99, "percent": 10}],
                    }
                ],
            }
        ).agreement
    sid = Service.objects.get(key="pipe").pk
    minutes = int((END - START) / dt.timedelta(minutes=1))
    good = MAX_MINUTE_TOTAL // 2
    EventCount.objects.bulk_create(
        (
            EventCount(
                service_id=sid,
                ts=START + dt.timedelta(minutes=i),
                good=good,
                total=MAX_MINUTE_TOTAL,
            )
            for i in range(minutes)
        ),
        batch_size=5000,
    )
    recompute_agreement(agreement_id=agreement.pk, period="2026-10", now=AFTER)
    close_due_periods(now=AFTER)
    period = Period.objects.get(agreement=agreement, period="2026-10")
    assert period.is_closed
    evaluation = period.evaluations.get(revision=period.revision)
    assert evaluation.good == Decimal(good * minutes)
    assert evaluation.bad == Decimal((MAX_MINUTE_TOTAL - good) * minutes)
    assert evaluation.achieved == 50
    assert period.credit_amount == Decimal("100.00")
