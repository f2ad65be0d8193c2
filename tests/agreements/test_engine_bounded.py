"""Bounded values (rule 15) and volume commitments (rule 17), by hand and held to a
brute-force reference that walks time second by second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from agreements import engine
from agreements.engine import Kind, Status

T0 = datetime(2026, 10, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOURS = 6  # the reference walks every second of this window


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --------------------------------------------------------------------------------------------
# Hand-checked examples (issue 16)
# --------------------------------------------------------------------------------------------


def test_two_outages_of_30_and_90_minutes_give_mttr_one_hour_and_mtbf_15_days() -> None:
    month = (T0, T0 + timedelta(days=30))
    outages = [(at(60), at(90)), (at(600), at(690))]
    restore = engine.mttr(covered=[month], started_in=month, outages=outages, now=month[1])
    between = engine.mtbf(covered=[month], started_in=month, outages=outages)
    assert restore.value == Decimal(3600)
    assert restore.count == 2
    assert between.value == Decimal(15 * 86400)


def test_no_outage_is_no_value_and_met() -> None:
    month = (T0, T0 + timedelta(days=30))
    assert engine.mttr(covered=[month], started_in=month, outages=[], now=month[1]).value is None
    assert engine.mtbf(covered=[month], started_in=month, outages=[]).value is None
    status = engine.bounded_status(
        None, maximum=Decimal(3600), minimum=None, closed=True, none_is_met=True
    )
    assert status is Status.MET
    assert engine.bounded_status(None, maximum=Decimal(30), minimum=None, closed=True) is (
        Status.NO_DATA
    )


def test_an_unresolved_outage_counts_until_now_and_one_started_before_is_left_out() -> None:
    month = (T0, T0 + timedelta(days=30))
    outages = [(T0 - timedelta(hours=1), at(30)), (at(100), None)]
    restore = engine.mttr(covered=[(T0, at(130))], started_in=month, outages=outages, now=at(130))
    assert (restore.value, restore.count) == (Decimal(1800), 1)


def test_an_outage_resolved_after_the_month_counts_its_whole_time_to_restore() -> None:
    # 30-day September, coverage `always`: an outage from 23:30 on the 30th to 00:30 on
    # 1 October restores in 1 h, though only 30 min of it fall inside September.
    september = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    outages = [(september[1] - timedelta(minutes=30), september[1] + timedelta(minutes=30))]
    now = september[1] + timedelta(hours=2)
    horizon = engine.restore_horizon(started_in=september, outages=outages, now=now)
    assert horizon == september[1] + timedelta(minutes=30)
    covered = [september, (september[1], horizon)]
    restore = engine.mttr(covered=covered, started_in=september, outages=outages, now=now)
    assert (restore.value, restore.count) == (Decimal(3600), 1)
    # mtbf is still the month's covered time over its one outage: 30 days.
    between = engine.mtbf(covered=[september], started_in=september, outages=outages)
    assert between.value == Decimal(30 * 86400)


def test_the_restore_horizon_is_none_when_every_outage_ends_in_the_period() -> None:
    month = (T0, T0 + timedelta(days=30))
    inside = [(at(10), at(40)), (T0 - timedelta(hours=1), month[1] + timedelta(hours=1))]
    assert engine.restore_horizon(started_in=month, outages=inside, now=month[1]) is None
    # An unresolved one lasts until now, which may be past the period's end.
    later = month[1] + timedelta(hours=3)
    assert engine.restore_horizon(started_in=month, outages=[(at(10), None)], now=later) == later


def test_a_commitment_of_200_with_170_delivered_requires_230_next() -> None:
    october = engine.commitment(minimum=Decimal(200), carried=Decimal(0), delivered=Decimal(170))
    assert october.shortfall == Decimal(30)
    assert october.achieved == Decimal(85)
    november = engine.commitment(
        minimum=Decimal(200), carried=october.shortfall, delivered=Decimal(230)
    )
    assert (november.required, november.carried, november.achieved) == (
        Decimal(230),
        Decimal(30),
        Decimal(100),
    )
    assert november.shortfall == 0


def test_jitter_is_the_mean_difference_of_consecutive_probes_of_one_location() -> None:
    probes = [
        (at(0), "fra", True, 10.0),
        (at(1), "fra", True, 14.0),
        (at(2), "fra", False, None),
        (at(3), "fra", True, 12.0),
        (at(0), "ams", True, 50.0),
        (at(5), "ams", True, 50.0),
    ]
    result = engine.jitter(covered=[(T0, at(10))], probes=probes)
    # fra: |14-10| + |12-14| = 6 over 2 pairs; ams: 0 over 1 pair.
    assert (result.total, result.count, result.value) == (Decimal(6), 3, Decimal(2))


def test_max_bounded_tiers_take_the_highest_above_lower_than_the_value() -> None:
    tiers = [(Decimal(4 * 3600), Decimal(5)), (Decimal(8 * 3600), Decimal(10))]
    assert engine.credit_percent_above(Decimal(4 * 3600), tiers) == 0
    assert engine.credit_percent_above(Decimal(5 * 3600), tiers) == 5
    assert engine.credit_percent_above(Decimal(9 * 3600), tiers) == 10
    assert engine.credit_percent_above(None, tiers) == 0


def test_bounds_and_open_periods() -> None:
    assert engine.within_bound(Decimal(30), maximum=Decimal(30), minimum=None)
    assert not engine.within_bound(Decimal(899), maximum=None, minimum=Decimal(900))
    assert (
        engine.bounded_status(Decimal(31), maximum=Decimal(30), minimum=None, closed=False)
        is Status.AT_RISK
    )
    assert (
        engine.bounded_status(Decimal(31), maximum=Decimal(30), minimum=None, closed=True)
        is Status.BREACHED
    )


def test_new_kinds_carry_their_units() -> None:
    assert Kind.of("mttr").value_unit == "s"
    assert Kind.of("jitter").value_unit == "ms"
    assert Kind.of("metric_mean").bounded
    assert not Kind.of("metric_sum").bounded
    assert Kind.of("metric_sum").value_unit == "%"


# --------------------------------------------------------------------------------------------
# The reference: whole seconds, membership checked one second at a time
# --------------------------------------------------------------------------------------------

seconds_in = st.integers(0, HOURS * 3600)


@st.composite
def covered_(draw: st.DrawFn) -> list[engine.Interval]:
    bounds = sorted(draw(st.lists(seconds_in, max_size=8)))
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
    return [(T0 + a * SECOND, T0 + b * SECOND) for a, b in pairs if a < b]


def covered_seconds(covered: list[engine.Interval]) -> set[int]:
    # Intervals here start and end on whole seconds: second s is covered when [s, s+1) is.
    out: set[int] = set()
    for a, b in covered:
        out |= set(range((a - T0) // SECOND, (b - T0) // SECOND))
    return out


def close_to(value: Decimal | None, expected: Fraction | None) -> bool:
    if value is None or expected is None:
        return value is None and expected is None
    return abs(Fraction(value) - expected) < Fraction(1, 10**30)


@given(covered_(), st.lists(st.tuples(seconds_in, st.none() | seconds_in), max_size=5), seconds_in)
def test_mttr_and_mtbf_match_reference(
    covered: list[engine.Interval], raw: list[tuple[int, int | None]], now_s: int
) -> None:
    seconds = covered_seconds(covered)
    # The period ends before the covered time does: an outage that started in it and is
    # resolved (or still going on at now) after its end counts its covered seconds up to
    # its resolution (rule 15); mtbf is given the period's covered time only.
    started_in = (T0 + 3600 * SECOND, T0 + 4 * 3600 * SECOND)
    outages = [(T0 + a * SECOND, None if b is None else T0 + max(a, b) * SECOND) for a, b in raw]
    now = T0 + max([now_s, *(a for a, _ in raw)]) * SECOND
    times = []
    stops = []
    for start, end in outages:
        if not started_in[0] <= start < started_in[1]:
            continue
        stop = now if end is None else end
        stops.append(stop)
        first, last = (start - T0) // SECOND, (stop - T0) // SECOND
        times.append(len(seconds & set(range(first, last))))
    horizon = engine.restore_horizon(started_in=started_in, outages=outages, now=now)
    assert horizon == (max(stops) if stops and max(stops) > started_in[1] else None)
    # Covered time up to the horizon is all mttr needs.
    reach = horizon or started_in[1]
    needed = engine.clip_sorted(engine.union(covered), (T0, reach))
    restore = engine.mttr(covered=needed, started_in=started_in, outages=outages, now=now)
    inside = engine.clip_sorted(engine.union(covered), (T0, started_in[1]))
    between = engine.mtbf(covered=inside, started_in=started_in, outages=outages)
    assert restore.count == len(times) == between.count
    assert restore.total == sum(times)
    assert between.total == len(seconds & set(range(0, 4 * 3600)))
    assert close_to(restore.value, Fraction(sum(times), len(times)) if times else None)
    period_seconds = len(seconds & set(range(0, 4 * 3600)))
    assert close_to(between.value, Fraction(period_seconds, len(times)) if times else None)


latencies = st.none() | st.integers(0, 5000).map(lambda n: n / 4)
probe_rows = st.lists(
    st.tuples(seconds_in, st.sampled_from(["a", "b"]), st.booleans(), latencies),
    max_size=30,
    unique_by=lambda r: (r[0], r[1]),
)


@given(covered_(), probe_rows)
def test_mean_latency_and_jitter_match_reference(
    covered: list[engine.Interval], raw: list[tuple[int, str, bool, float | None]]
) -> None:
    seconds = covered_seconds(covered)
    probes = [(T0 + s * SECOND, p, ok, ms) for s, p, ok, ms in raw]
    kept = sorted(
        (s, p, Fraction(ms)) for s, p, ok, ms in raw if ok and ms is not None and s in seconds
    )
    mean = engine.mean_latency(covered=covered, probes=[(t, ok, ms) for t, _, ok, ms in probes])
    expected = Fraction(sum(ms for _, _, ms in kept), len(kept)) if kept else None
    assert close_to(mean.value, expected)
    diffs = []
    for location in ("a", "b"):
        series = [ms for _, p, ms in kept if p == location]
        diffs += [abs(series[i] - series[i - 1]) for i in range(1, len(series))]
    result = engine.jitter(covered=covered, probes=probes)
    assert result.count == len(diffs)
    assert Fraction(result.total) == sum(diffs, Fraction(0))
    assert close_to(result.value, Fraction(sum(diffs), len(diffs)) if diffs else None)


@given(
    covered_(),
    st.lists(st.tuples(seconds_in, st.integers(-(10**6), 10**6)), max_size=30),
    st.integers(0, 1000),
    st.integers(0, 1000),
)
def test_metric_mean_sum_and_commitment_match_reference(
    covered: list[engine.Interval], raw: list[tuple[int, int]], minimum: int, carried: int
) -> None:
    seconds = covered_seconds(covered)
    samples = [(T0 + s * SECOND, Decimal(v) / 100) for s, v in raw]
    kept = [Fraction(v, 100) for s, v in raw if s in seconds]
    mean = engine.metric_mean(covered=covered, samples=samples)
    assert close_to(mean.value, Fraction(sum(kept), len(kept)) if kept else None)
    delivered, count = engine.metric_sum(covered=covered, samples=samples)
    assert (Fraction(delivered), count) == (sum(kept, Fraction(0)), len(kept))
    c = engine.commitment(minimum=Decimal(minimum), carried=Decimal(carried), delivered=delivered)
    required = minimum + carried
    assert c.required == required
    assert Fraction(c.shortfall) == max(required - sum(kept, Fraction(0)), Fraction(0))
    if required:
        assert close_to(c.achieved, 100 * sum(kept, Fraction(0)) / required)
    else:
        assert c.achieved is None


@given(
    st.one_of(st.none(), st.integers(0, 100).map(Decimal)),
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=5),
)
def test_credit_percent_above_matches_reference(
    value: Decimal | None, raw: list[tuple[int, int]]
) -> None:
    tiers = [(Decimal(a), Decimal(p)) for a, p in raw]
    lower = [(a, p) for a, p in tiers if value is not None and a < value]
    highest = max((a for a, _ in lower), default=None)
    expected = max((p for a, p in lower if a == highest), default=Decimal(0))
    assert engine.credit_percent_above(value, tiers) == expected
