"""Summaries always equal a recount of the raw rows, whatever batches arrive in any order."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.engine import classify_minute as classify
from agreements.models import Service
from metrics.models import EventCount, EventMinute, ProbeDay, ProbeMinute, ProbeResult
from metrics.services import events_ingest, probes_ingest

BASE = dt.datetime(2026, 3, 31, 23, 57, tzinfo=dt.UTC)  # batches straddle a UTC day boundary

probe_rows = st.lists(
    st.tuples(
        st.integers(0, 1),  # service index
        st.sampled_from(["default", "eu", "us"]),
        st.integers(0, 6 * 60 - 1).map(lambda s: BASE + dt.timedelta(seconds=s)),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


def recount_probes() -> tuple[dict[Any, tuple[int, int]], dict[Any, tuple[int, int, int, int]]]:
    minutes: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for sid, ts, ok in ProbeResult.objects.values_list("service_id", "ts", "ok"):
        minutes[(sid, ts.replace(second=0, microsecond=0))][0 if ok else 1] += 1
    days: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (sid, minute), (ok, failed) in minutes.items():
        day = days[(sid, minute.date())]
        state = classify(ok, failed)
        day[0] += state == "up"
        day[1] += state == "down"
        day[2] += ok
        day[3] += failed
    return ({k: tuple(v) for k, v in minutes.items()}, {k: tuple(v) for k, v in days.items()})


@pytest.mark.django_db
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(probe_rows, min_size=1, max_size=4))
def test_probe_summaries_equal_recount(
    batches: list[list[tuple[int, str, dt.datetime, bool]]],
) -> None:
    with transaction.atomic():
        services = [Service.objects.get_or_create(key=f"svc-{i}")[0].pk for i in range(2)]
        for batch in batches:
            rows = [
                (services[s], probe, ts, ok, 10.0 if ok else None) for s, probe, ts, ok in batch
            ]
            probes_ingest(rows=rows, closed={})
        minutes, days = recount_probes()
        assert {
            (m.service_id, m.minute): (m.ok, m.failed) for m in ProbeMinute.objects.all()
        } == minutes
        assert {
            (d.service_id, d.day): (d.up, d.down, d.probes_ok, d.probes_failed)
            for d in ProbeDay.objects.all()
            if (d.up, d.down, d.probes_ok, d.probes_failed) != (0, 0, 0, 0)
        } == days
        hours: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for (sid, minute), (ok, failed) in minutes.items():
            state = classify(ok, failed)
            hours[(sid, minute.replace(minute=0))][0] += state == "up"
            hours[(sid, minute.replace(minute=0))][1] += state == "down"
        from metrics.models import ProbeHour

        assert {
            (h.service_id, h.hour): [h.up, h.down]
            for h in ProbeHour.objects.all()
            if (h.up, h.down) != (0, 0)
        } == {k: v for k, v in hours.items() if v != [0, 0]}
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 300).map(lambda s: BASE + dt.timedelta(seconds=s)),
                st.integers(0, 50),
                st.integers(0, 50),
            ),
            min_size=1,
            max_size=20,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_event_summaries_equal_recount(batches: list[list[tuple[dt.datetime, int, int]]]) -> None:
    with transaction.atomic():
        sid = Service.objects.get_or_create(key="events")[0].pk
        for batch in batches:
            events_ingest(rows=[(sid, ts, min(a, b), max(a, b)) for ts, a, b in batch], closed={})
        expected: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for ts, good, total in EventCount.objects.values_list("ts", "good", "total"):
            counts = expected[ts.replace(second=0)]
            counts[0] += good
            counts[1] += total
        assert {m.minute: [m.good, m.total] for m in EventMinute.objects.all()} == dict(expected)
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=probe_rows, after=probe_rows, threshold=st.integers(1, 20))
def test_latency_summaries_equal_recount(
    before: list[Any], after: list[Any], threshold: int
) -> None:
    from metrics.models import ProbeLatencyDay
    from metrics.services import latency_threshold_register

    with transaction.atomic():
        sid = Service.objects.get_or_create(key="lat")[0].pk

        def rows(batch: list[Any]) -> list[tuple[Any, ...]]:
            return [
                (sid, p, ts, ok, float((ts.second * 7) % 25) if ok else None)
                for _, p, ts, ok in batch
            ]

        probes_ingest(rows=rows(before), closed={})
        # Registered after some data (back-filled), then kept current by ingestion.
        assert latency_threshold_register(service_id=sid, threshold_ms=threshold)
        assert not latency_threshold_register(service_id=sid, threshold_ms=threshold)
        probes_ingest(rows=rows(after), closed={})
        expected: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for ts, ok, latency in ProbeResult.objects.values_list("ts", "ok", "latency_ms"):
            if ok and latency is not None:
                expected[ts.date()][0] += latency <= threshold
                expected[ts.date()][1] += 1
        got = {
            d.day: [d.fast, d.total] for d in ProbeLatencyDay.objects.filter(threshold_ms=threshold)
        }
        assert got == dict(expected)
        from metrics.models import ProbeLatencyHour

        by_hour: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for ts, ok, latency in ProbeResult.objects.values_list("ts", "ok", "latency_ms"):
            if ok and latency is not None:
                by_hour[ts.replace(minute=0, second=0, microsecond=0)][0] += latency <= threshold
                by_hour[ts.replace(minute=0, second=0, microsecond=0)][1] += 1
        assert {h.hour: [h.fast, h.total] for h in ProbeLatencyHour.objects.all()} == dict(by_hour)
        transaction.set_rollback(True)
