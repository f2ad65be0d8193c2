"""The database path (summaries, batched reads) gives exactly what the pure engine gives
from the raw rows, whatever the calendar, maintenance and data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agreements import engine
from agreements.models import Agreement, Service
from agreements.services import agreement_import
from credits.evaluation import evaluate
from credits.terms import terms_of
from metrics.models import EventCount, Maintenance, ProbeResult
from metrics.services import events_ingest, maintenance_ingest, probes_ingest

UTC = dt.UTC
START = dt.datetime(2026, 3, 28, 20, tzinfo=UTC)  # spans the Europe/Berlin DST start (29 March)
SPAN_MINUTES = 3 * 24 * 60

offsets = st.integers(0, SPAN_MINUTES * 60 - 1)
# Data near half-hour marks, where calendar ranges, days and periods begin and end.
near_edges = st.tuples(st.integers(0, SPAN_MINUTES // 30), st.integers(-150, 150)).map(
    lambda kj: min(max(kj[0] * 1800 + kj[1], 0), SPAN_MINUTES * 60 - 1)
)


def document(tz: str, ranges: list[str], notice: int) -> dict[str, Any]:
    return {
        "agreement": "prop",
        "customer": {"key": "prop"},
        "name": "Prop",
        "timezone": tz,
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "100.00",
        "maintenance_notice_hours": notice,
        "calendars": {
            "hours": {
                "weekly": dict.fromkeys(("sat", "sun", "mon", "tue"), ranges),
                "holidays": ["2026-03-30"],
            }
        },
        "objectives": [
            {
                "key": "avail",
                "service": "svc",
                "indicator": "availability",
                "target": 99,
                "coverage": "hours",
            },
            {"key": "avail-all", "service": "svc", "indicator": "availability", "target": 99},
            {
                "key": "lat",
                "service": "svc",
                "indicator": "latency",
                "threshold_ms": 100,
                "target": 90,
                "coverage": "hours",
            },
            {
                "key": "events",
                "service": "svc",
                "indicator": "ratio",
                "target": 99,
                "coverage": "hours",
            },
        ],
    }


# 29 March (DST start in Berlin): business hours 09:00-17:00 CEST are 07:00-15:00 UTC, i.e.
# 11 h and 19 h after START. Data in the minutes just outside and inside those edges.
EDGE_CASES = [
    (11 * 3600, "b", True, 50),
    (11 * 3600 - 55, "a", False, 5),
    (11 * 3600 + 5, "a", True, 5),
    (19 * 3600 - 55, "b", True, 150),
    (19 * 3600 + 5, "a", False, 5),
]


@pytest.mark.django_db
@example(
    tz="Europe/Berlin",
    ranges=["09:00-17:00"],
    notice=0,
    probes=EDGE_CASES,
    events=[(11 * 3600 - 1, 1, 2), (11 * 3600, 3, 4), (19 * 3600 - 1, 5, 6), (19 * 3600, 7, 8)],
    windows=[(12 * 3600 + 30, 3600, 0)],
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tz=st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "UTC", "America/New_York"]),
    ranges=st.sampled_from([["00:00-24:00"], ["09:00-17:00"], ["01:30-03:30", "20:00-23:59"]]),
    notice=st.sampled_from([0, 24]),
    probes=st.lists(
        st.tuples(
            st.one_of(offsets, near_edges),
            st.sampled_from(["a", "b"]),
            st.booleans(),
            st.integers(0, 200),
        ),
        max_size=150,
    ),
    events=st.lists(
        st.tuples(st.one_of(offsets, near_edges), st.integers(0, 10), st.integers(0, 10)),
        max_size=40,
    ),
    windows=st.lists(
        st.tuples(offsets, st.integers(1, 600 * 60), st.integers(0, 72 * 3600)), max_size=3
    ),
)
def test_database_figures_equal_engine(
    tz: str,
    ranges: list[str],
    notice: int,
    probes: list[Any],
    events: list[Any],
    windows: list[Any],
) -> None:
    with transaction.atomic():
        agreement = agreement_import(data=document(tz, ranges, notice)).agreement
        sid = Service.objects.get(key="svc").pk
        rows = [
            (sid, p, START + dt.timedelta(seconds=s), ok, float(lat) if ok else None)
            for s, p, ok, lat in probes
        ]
        if rows:
            probes_ingest(rows=rows, closed={})
        ev = [(sid, START + dt.timedelta(seconds=s), min(a, b), max(a, b)) for s, a, b in events]
        if ev:
            events_ingest(rows=ev, closed={})
        mw = [
            (
                sid,
                f"m{i}",
                "mw",
                START + dt.timedelta(seconds=s),
                START + dt.timedelta(seconds=s + length),
                START + dt.timedelta(seconds=s - before),
            )
            for i, (s, length, before) in enumerate(windows)
        ]
        if mw:
            maintenance_ingest(rows=mw, closed={})
        now = START + dt.timedelta(minutes=SPAN_MINUTES)
        agreement = Agreement.objects.get(pk=agreement.pk)
        result = evaluate(
            agreement=agreement,
            period="2026-03",
            version=agreement.versions.get(),
            now=now,
            closed=False,
        )
        figures = {r.terms.key: r.figures for r in result.objectives}

        # The reference: the engine's own functions over the raw rows.
        terms = terms_of(agreement.versions.get().terms)
        start, end = engine.period_bounds("2026-03", tz, terms.effective_from, None)
        maintenance = [
            engine.Maintenance(m.start, m.end, m.announced_at) for m in Maintenance.objects.all()
        ]
        counts: dict[dt.datetime, list[int]] = defaultdict(lambda: [0, 0])
        raw = list(ProbeResult.objects.values_list("ts", "ok", "latency_ms"))
        for ts, ok, _ in raw:
            counts[ts.replace(second=0, microsecond=0)][0 if ok else 1] += 1
        raw_events = list(EventCount.objects.values_list("ts", "good", "total"))
        for o in terms.objectives:
            covered = engine.covered_time(
                period=(start, min(end, now)),
                tz=tz,
                calendar=o.calendar,
                maintenance=maintenance,
                notice_hours=notice,
            )
            if o.indicator == "availability":
                expected = engine.availability_from_probes(
                    covered=covered, minute_counts={k: tuple(v) for k, v in counts.items()}
                )
                got = figures[o.key]
                assert (got.good, got.bad, got.eligible, got.achieved, got.completeness) == (
                    expected.good,
                    expected.bad,
                    expected.eligible,
                    expected.achieved,
                    expected.completeness,
                )
            elif o.indicator == "latency":
                expected = engine.latency(covered=covered, probes=raw, threshold_ms=100)
                assert (figures[o.key].good, figures[o.key].bad) == (expected.good, expected.bad)
            else:
                expected = engine.ratio(covered=covered, events=raw_events)
                assert (figures[o.key].good, figures[o.key].bad) == (expected.good, expected.bad)
        transaction.set_rollback(True)
