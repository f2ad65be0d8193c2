"""Rules 10-11 for open periods: figures so far, budgets of the whole period, and a
``breached`` that can never turn into ``met`` at close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from agreements import engine
from agreements.engine import Status

TARGETS = [Decimal(t) for t in ("90", "98", "99", "99.5", "99.9", "100")]


def _status(up: int, down: int, *, target: Decimal, to_come: int, closed: bool) -> Status:
    good, bad = Decimal(up), Decimal(down)
    reachable = None if closed else good + bad + to_come
    budget = engine.error_budget(target=target, good=good, bad=bad, reachable=reachable)
    achieved = Decimal(100) * good / (good + bad) if up + down else None
    return engine.status(
        achieved=achieved,
        target=target,
        budget=budget,
        burn_rate_1h=None,
        closed=closed,
        time_based=True,
    )


@given(
    minutes=st.lists(st.sampled_from([None, "up", "down"]), min_size=1, max_size=120),
    cut=st.integers(0, 120),
    target=st.sampled_from(TARGETS),
)
def test_breached_while_open_stays_breached_at_close(
    minutes: list[str | None], cut: int, target: Decimal
) -> None:
    cut = min(cut, len(minutes))
    so_far = minutes[:cut]
    open_status = _status(
        so_far.count("up"),
        so_far.count("down"),
        target=target,
        to_come=len(minutes) - cut,
        closed=False,
    )
    closed_status = _status(
        minutes.count("up"), minutes.count("down"), target=target, to_come=0, closed=True
    )
    if open_status is Status.BREACHED:
        assert closed_status is Status.BREACHED


def test_a_short_outage_early_in_the_month_is_met() -> None:
    # 3 minutes down on the second day of a 30-day month at 99.9%: 43.2 minutes allowed.
    up, down = 2 * 1440 - 3, 3
    assert _status(up, down, target=Decimal("99.9"), to_come=28 * 1440, closed=False) == (
        Status.MET
    )


def test_a_probe_objective_with_ten_minutes_of_data_is_not_breached_yet() -> None:
    # 5 of 10 minutes down at 98%, with the rest of the month to come: budget 2% of the
    # month's reachable minutes (about 864), of which 5 are spent.
    status = _status(5, 5, target=Decimal(98), to_come=43_190, closed=False)
    assert status is Status.MET


def test_an_open_period_is_breached_once_the_whole_budget_is_spent() -> None:
    # 44 of 43,200 reachable minutes down at 99.9% (43.2 allowed): it can no longer be met.
    assert (
        _status(1000, 44, target=Decimal("99.9"), to_come=42_156, closed=False) is Status.BREACHED
    )


def test_count_based_open_periods_are_breached_below_target() -> None:
    budget = engine.error_budget(target=Decimal(95), good=Decimal(9), bad=Decimal(1))
    status = engine.status(
        achieved=Decimal(90), target=Decimal(95), budget=budget, burn_rate_1h=None, closed=False
    )
    assert status is Status.BREACHED


def test_minutes_to_come_counts_the_minute_under_way() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    covered = [(start, start + timedelta(hours=1))]
    now = start + timedelta(minutes=10, seconds=30)
    assert engine.minutes_to_come(covered, now) == 50
    assert engine.minutes_to_come(covered, start + timedelta(hours=2)) == 0
    assert engine.minutes_to_come(covered, start - timedelta(days=1)) == 60
