"""Availability over several services (rule 18) and bonus tiers (rule 12), held to
brute-force references that walk time minute by minute and second by second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreements import engine
from agreements.engine import MinuteState

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
SERVICES = ("web-frontend", "payments-gateway", "dns")


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------


def reference_probes(covered, counts, combine):
    """Walk every minute of the first day: eligible when all 60 seconds are covered."""
    up = down = eligible = 0
    blame = dict.fromkeys(counts, 0)
    for i in range(24 * 60):
        m = T0 + i * MINUTE
        if not all(any(a <= m + k * SECOND < b for a, b in covered) for k in range(60)):
            continue
        eligible += 1
        states = {}
        for s, by_minute in counts.items():
            ok, failed = by_minute.get(m, (0, 0))
            states[s] = None if ok + failed == 0 else failed * 2 > ok + failed
        if any(v is None for v in states.values()):
            continue
        is_down = any(states.values()) if combine == "all" else all(states.values())
        if is_down:
            down += 1
            for s, v in states.items():
                blame[s] += v
        else:
            up += 1
    return up, down, eligible, blame


def reference_incidents(covered, outages, combine, now):
    """Walk every second of the first two hours."""
    covered_s = bad = 0
    blame = dict.fromkeys(outages, 0)
    for i in range(2 * 3600):
        t = T0 + i * SECOND
        if not any(a <= t < b for a, b in covered):
            continue
        covered_s += 1
        down = {
            s: any(a <= t < (now if b is None else b) for a, b in spans)
            for s, spans in outages.items()
        }
        if any(down.values()) if combine == "all" else all(down.values()):
            bad += 1
            for s, v in down.items():
                blame[s] += v
    return covered_s, bad, blame


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

minute_offsets = st.integers(min_value=0, max_value=24 * 60 * 60)


@st.composite
def covered_time(draw, horizon_s=24 * 3600):
    cuts = sorted(draw(st.lists(st.integers(0, horizon_s), min_size=2, max_size=8)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return [(T0 + a * SECOND, T0 + b * SECOND) for a, b in pairs if a < b]


@st.composite
def per_service_counts(draw):
    n = draw(st.integers(2, 3))
    out = {}
    for s in SERVICES[:n]:
        minutes = draw(st.lists(st.integers(0, 24 * 60 - 1), max_size=40, unique=True))
        out[s] = {
            T0 + m * MINUTE: (draw(st.integers(0, 3)), draw(st.integers(0, 3))) for m in minutes
        }
    return out


@st.composite
def per_service_outages(draw):
    n = draw(st.integers(1, 3))
    out = {}
    for s in SERVICES[:n]:
        spans = []
        for _ in range(draw(st.integers(0, 3))):
            a = draw(st.integers(0, 2 * 3600))
            length = draw(st.one_of(st.none(), st.integers(1, 3600)))
            spans.append((T0 + a * SECOND, None if length is None else T0 + (a + length) * SECOND))
        out[s] = spans
    return out


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@given(covered_time(), per_service_counts(), st.sampled_from(["all", "any"]))
def test_combined_probes_match_minute_walk(covered, counts, combine):
    result = engine.combined_from_probes(covered=covered, minute_counts=counts, combine=combine)
    up, down, eligible, blame = reference_probes(covered, counts, combine)
    assert (result.figures.good, result.figures.bad) == (up, down)
    assert result.figures.eligible == eligible
    assert result.attribution == {s: Decimal(v) for s, v in blame.items()}
    assert result.figures.achieved == (engine.achieved(up, down) if up + down else None)


@given(
    covered_time(horizon_s=2 * 3600),
    per_service_outages(),
    st.sampled_from(["all", "any"]),
    st.integers(0, 2 * 3600),
)
def test_combined_incidents_match_second_walk(covered, outages, combine, now_s):
    now = T0 + now_s * SECOND
    result = engine.combined_from_incidents(
        covered=covered, outages=outages, combine=combine, now=now
    )
    covered_s, bad, blame = reference_incidents(covered, outages, combine, now)
    assert result.figures.bad == bad
    assert result.figures.good == covered_s - bad
    assert result.attribution == {s: Decimal(v) for s, v in blame.items()}


@given(covered_time(horizon_s=2 * 3600), per_service_outages(), st.integers(0, 2 * 3600))
def test_one_service_combined_is_rule_5(covered, outages, now_s):
    now = T0 + now_s * SECOND
    first = next(iter(outages))
    alone = {first: outages[first]}
    for combine in ("all", "any"):
        result = engine.combined_from_incidents(
            covered=covered, outages=alone, combine=combine, now=now
        )
        assert result.figures == engine.availability_from_incidents(
            covered=covered, outages=alone[first], now=now
        )


tiers_strategy = st.lists(
    st.tuples(
        st.decimals(min_value=0, max_value=100, places=2),
        st.decimals(min_value=0, max_value=100, places=2),
    ),
    max_size=4,
)


@given(st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=3)), tiers_strategy)
def test_bonus_percent_is_the_highest_above_still_lower(achieved, tiers):
    got = engine.bonus_percent(achieved, tiers)
    if achieved is None:
        assert got == 0
        return
    below = [t for t in tiers if t[0] < achieved]
    if not below:
        assert got == 0
        return
    highest = max(a for a, _ in below)
    assert got == max(p for a, p in below if a == highest)


# --------------------------------------------------------------------------------------------
# Hand-checked examples
# --------------------------------------------------------------------------------------------


def test_all_over_two_services_counts_25_minutes_and_attributes_10_and_20():
    """The issue's example: down 10 and 20 minutes, overlapping by 5."""
    hour = [(T0, T0 + timedelta(hours=1))]
    web = {T0 + i * MINUTE: (1, 0) for i in range(60)}
    pay = {T0 + i * MINUTE: (1, 0) for i in range(60)}
    for i in range(10):  # web down 00:00-00:10
        web[T0 + i * MINUTE] = (0, 1)
    for i in range(5, 25):  # payments down 00:05-00:25, overlapping by 5
        pay[T0 + i * MINUTE] = (0, 1)
    result = engine.combined_from_probes(
        covered=hour, minute_counts={"web-frontend": web, "payments-gateway": pay}, combine="all"
    )
    assert result.figures.bad == 25
    assert result.figures.good == 35
    assert result.attribution == {"web-frontend": 10, "payments-gateway": 20}
    redundant = engine.combined_from_probes(
        covered=hour, minute_counts={"web-frontend": web, "payments-gateway": pay}, combine="any"
    )
    assert redundant.figures.bad == 5
    assert redundant.attribution == {"web-frontend": 5, "payments-gateway": 5}


def test_all_over_two_services_from_incidents_in_seconds():
    hour = [(T0, T0 + timedelta(hours=1))]
    outages = {
        "web-frontend": [(T0, T0 + 10 * MINUTE)],
        "payments-gateway": [(T0 + 5 * MINUTE, T0 + 25 * MINUTE)],
    }
    now = T0 + timedelta(hours=2)
    result = engine.combined_from_incidents(covered=hour, outages=outages, combine="all", now=now)
    assert result.figures.bad == 25 * 60
    assert result.attribution == {"web-frontend": 600, "payments-gateway": 1200}


def test_a_minute_without_data_for_one_service_has_no_data():
    minute = [(T0, T0 + MINUTE)]
    result = engine.combined_from_probes(
        covered=minute, minute_counts={"a": {T0: (0, 5)}, "b": {}}, combine="all"
    )
    assert result.figures.achieved is None
    assert result.figures.completeness == 0
    assert engine.combined_minute_state([MinuteState.UP, None], "any") is None


def test_bonus_tier_and_amount():
    tiers = [(Decimal("99.95"), Decimal(2)), (Decimal("99.99"), Decimal(5))]
    assert engine.bonus_percent(Decimal("99.95"), tiers) == 0  # must be above, not at
    assert engine.bonus_percent(Decimal("99.96"), tiers) == 2
    assert engine.bonus_percent(Decimal("100"), tiers) == 5
    assert engine.period_bonus(monthly_fee=Decimal("1000.05"), percents=[Decimal(2)]) == Decimal(
        "20.00"
    )


def test_unknown_combine_is_refused():
    with pytest.raises(ValueError, match="combine"):
        engine.combined_from_probes(covered=[], minute_counts={"a": {}}, combine="either")
