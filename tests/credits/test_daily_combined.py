"""Daily bars of an objective over several services (rule 18): each day's combined
result, from the engine's rule 18, by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from credits.daily import combined_days

DAY1 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def test_incident_days_combine_all_and_any() -> None:
    # web down 10:00-10:10, pay down 10:05-10:25 on day 1; pay down 1 h on day 2.
    outages = {
        "web": [(DAY1 + 600 * MIN, DAY1 + 610 * MIN)],
        "pay": [
            (DAY1 + 605 * MIN, DAY1 + 625 * MIN),
            (DAY1 + dt.timedelta(days=1, hours=3), DAY1 + dt.timedelta(days=1, hours=4)),
        ],
    }
    common = {
        "services": ("web", "pay"),
        "outages": outages,
        "first": DAY1.date(),
        "last": DAY1.date() + dt.timedelta(days=1),
        "tz": "UTC",
        "calendar": None,
        "now": DAY1 + dt.timedelta(days=2),
    }
    every = combined_days(combine="all", **common)  # type: ignore[arg-type]
    assert every[DAY1.date()] == (Decimal(86400 - 1500), Decimal(1500))
    assert every[DAY1.date() + dt.timedelta(days=1)] == (Decimal(86400 - 3600), Decimal(3600))
    redundant = combined_days(combine="any", **common)  # type: ignore[arg-type]
    assert redundant[DAY1.date()] == (Decimal(86400 - 300), Decimal(300))
    assert redundant[DAY1.date() + dt.timedelta(days=1)] == (Decimal(86400), Decimal(0))


def test_probe_days_count_only_minutes_every_service_has_data() -> None:
    web = {DAY1: (3, 0), DAY1 + MIN: (0, 3), DAY1 + 2 * MIN: (3, 0)}
    pay = {DAY1: (3, 0), DAY1 + MIN: (3, 0), DAY1 + 2 * MIN: (0, 3), DAY1 + 3 * MIN: (3, 0)}
    found = combined_days(
        services=("web", "pay"),
        combine="all",
        minutes={"web": web, "pay": pay},
        first=DAY1.date(),
        last=DAY1.date() + dt.timedelta(days=1),
        tz="UTC",
        calendar=None,
        now=DAY1 + dt.timedelta(days=2),
    )
    # Minute 3 has no data from web: neither up nor down. The second day has no data.
    assert found == {DAY1.date(): (Decimal(1), Decimal(2))}


def test_an_unknown_combine_is_refused() -> None:
    with pytest.raises(ValueError, match="combine"):
        combined_days(
            services=("web",),
            combine="some",
            outages={},
            first=DAY1.date(),
            last=DAY1.date(),
            tz="UTC",
            calendar=None,
            now=DAY1 + dt.timedelta(days=1),
        )
