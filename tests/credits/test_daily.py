"""Availability per local day and how a day compares with its target."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from credits.daily import DayVerdict, day_verdict, incident_days

UTC = dt.UTC


@pytest.mark.parametrize(
    ("achieved", "verdict"),
    [
        (None, DayVerdict.NO_DATA),
        (Decimal("99.9"), DayVerdict.WITHIN),
        (Decimal("99.85"), DayVerdict.BELOW),
        (Decimal("99.8"), DayVerdict.BELOW),  # twice the allowed error rate
        (Decimal("99.79"), DayVerdict.FAR_BELOW),
    ],
)
def test_day_verdict_against_a_target_of_99_9(
    achieved: Decimal | None, verdict: DayVerdict
) -> None:
    assert day_verdict(achieved, Decimal("99.9")) == verdict


def test_day_verdicts_have_words_of_their_own() -> None:
    assert [v.words for v in DayVerdict] == [
        "within target",
        "below target",
        "far below target",
        "no data",
    ]


def test_incident_days_count_covered_outage_seconds_per_local_day() -> None:
    # Berlin is UTC+1 in February: an outage from 23:30 to 00:30 local spans two days.
    outage = (
        dt.datetime(2026, 2, 9, 22, 30, tzinfo=UTC),
        dt.datetime(2026, 2, 9, 23, 30, tzinfo=UTC),
    )
    days = incident_days(
        outages=[outage],
        first=dt.date(2026, 2, 9),
        last=dt.date(2026, 2, 11),
        tz="Europe/Berlin",
        calendar=None,
        now=dt.datetime(2026, 2, 11, 11, tzinfo=UTC),
    )
    assert days[dt.date(2026, 2, 9)] == (Decimal(86400 - 1800), Decimal(1800))
    assert days[dt.date(2026, 2, 10)] == (Decimal(86400 - 1800), Decimal(1800))
    # Today counts only up to now (noon local).
    assert days[dt.date(2026, 2, 11)] == (Decimal(12 * 3600), Decimal(0))
