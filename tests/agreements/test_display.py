"""Rule 19: the one formatter of figures shown to people."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreements import display


@pytest.mark.parametrize(
    ("value", "target", "text"),
    [
        (Decimal("99.99962"), Decimal("99.9999"), "99.9996%"),
        (Decimal("99.99999"), Decimal("99.9999"), "99.9999%"),
        (Decimal(100) * 11 / 12, None, "91.666%"),
        (Decimal("99.8996"), Decimal("99.9"), "99.899%"),
        (Decimal("99.9"), Decimal("99.9000"), "99.900%"),  # stored targets carry zeros
        (Decimal(100), None, "100.000%"),
        (Decimal("-12.34567"), None, "-12.345%"),
        (Decimal("-0.0001"), None, "0.000%"),
        (Decimal("83.3333333"), Decimal("99.95"), "83.333%"),
        (None, Decimal("99.9"), "no data"),
    ],
)
def test_percent_truncates_to_the_places_of_its_target(
    value: Decimal | None, target: Decimal | None, text: str
) -> None:
    assert display.percent(value, target) == text


@given(
    value=st.decimals(min_value=0, max_value=100, places=8),
    target=st.decimals(min_value=0, max_value=100, places=4),
)
def test_a_percent_below_its_target_never_reads_as_reaching_it(
    value: Decimal, target: Decimal
) -> None:
    shown = Decimal(display.percent(value, target).rstrip("%"))
    assert shown <= value
    if value < target:
        assert shown < target


def test_percent_digits_are_the_percent_without_its_sign() -> None:
    assert display.percent_digits(Decimal("91.66666")) == "91.666"


@pytest.mark.parametrize(
    ("amount", "grouped", "text"),
    [
        (Decimal("6000"), True, "6,000.00"),
        (Decimal("6000"), False, "6000.00"),
        (Decimal("1234567.005"), True, "1,234,567.01"),  # half-up
        (Decimal("-0.004"), True, "-0.00"),
        (None, True, "0.00"),
    ],
)
def test_money_has_two_decimals_half_up(amount: Decimal | None, grouped: bool, text: str) -> None:
    assert display.money(amount, grouped=grouped) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (42, "42 s"), (95 * 60, "1 h 35 min"), (3600, "1 h"), (2 * 86400, "2 d")],
)
def test_duration_reads_in_days_hours_and_minutes(seconds: int | None, text: str) -> None:
    assert display.duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "coverage", "text"),
    [
        (7800, "business-hours", "2 h 10 min of business hours left"),
        (Decimal("7859.9"), "business-hours", "2 h 10 min of business hours left"),
        (7800, "always", "2 h 10 min left"),
        (42, "office", "42 s of office left"),
        (-5, "always", "0 s left"),
    ],
)
def test_time_left_names_the_covered_time(seconds: Any, coverage: str, text: str) -> None:
    assert display.time_left(seconds, coverage) == text


@pytest.mark.parametrize(
    ("seconds", "coverage", "text"),
    [
        # Business hours have no 24-hour days: covered time past a day reads in hours.
        (138_600, "business-hours", "38 h 30 min of business hours over"),
        (176_400, "always", "2 d 1 h over"),
    ],
)
def test_time_over_names_the_covered_time(seconds: Any, coverage: str, text: str) -> None:
    assert display.time_over(seconds, coverage) == text


def test_counts_are_whole_numbers() -> None:
    assert display.count(Decimal("60.000000"), "minutes") == "60 minutes"
    assert display.count(Decimal("44562.000000")) == "44562"


def test_plain_prints_integers_as_integers() -> None:
    assert display.plain(Decimal("44562.000000")) == "44562"
    assert display.plain(Decimal("99.9000")) == "99.9"
    assert display.plain(Decimal("-0.00")) == "0"


def test_rates_and_latencies() -> None:
    assert display.multiple(Decimal("14.39")) == "14.3×"
    assert display.milliseconds(95) == "95.0 ms"
