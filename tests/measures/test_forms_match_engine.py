"""The database path of the further forms (sample summaries with raw edges, the batched
probe and incident reads) gives exactly what the pure engine gives from the raw rows,
whatever the calendar, maintenance and data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements import engine
from agreements.models import Agreement, Service
from agreements.services import agreement_import
from credits.evaluation import evaluate
from credits.terms import terms_of
from metrics.models import Incident, Maintenance, ProbeResult, Sample
from metrics.services import incidents_ingest, maintenance_ingest, probes_ingest, samples_ingest

UTC = dt.UTC
START = dt.datetime(2026, 3, 28, 20, tzinfo=UTC)  # spans the Europe/Berlin DST start
SPAN = 3 * 24 * 3600
offsets = st.integers(0, SPAN - 1)
COVERAGE = {"coverage": "hours"}


def document(tz: str, ranges: list[str]) -> dict[str, Any]:
    return {
        "agreement": "prop",
        "customer": {"key": "prop"},
        "name": "Prop",
        "timezone": tz,
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "100.00",
        "calendars": {"hours": {"weekly": dict.fromkeys(("sat", "sun", "mon"), ranges)}},
        "objectives": [
            {"key": "mean", "service": "svc", "indicator": "metric_mean", "metric": "m",
             "min": 1, **COVERAGE},
            {"key": "sum", "service": "svc", "indicator": "metric_sum", "metric": "m", "min": 5},
            {"key": "jitter", "service": "svc", "indicator": "jitter", "max": 5, **COVERAGE},
            {"key": "latency", "service": "svc", "indicator": "mean_latency", "max": 5},
            {"key": "mttr", "service": "svc", "indicator": "mttr", "max": "1h", **COVERAGE},
            {"key": "mtbf", "service": "svc", "indicator": "mtbf", "min": "1h", **COVERAGE},
        ],
    }  # fmt: skip


@pytest.mark.django_db
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(
    tz=st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "UTC"]),
    ranges=st.sampled_from([["00:00-24:00"], ["09:00-17:00"], ["01:30-03:30", "20:00-23:59"]]),
    samples=st.lists(
        st.tuples(offsets, st.integers(0, 999_999), st.integers(-(10**9), 10**9)),
        max_size=40,
        unique_by=lambda s: (s[0], s[1]),
    ),
    probes=st.lists(
        st.tuples(offsets, st.sampled_from(["a", "b"]), st.booleans(), st.integers(0, 400)),
        max_size=40,
        unique_by=lambda p: (p[0], p[1]),
    ),
    outages=st.lists(st.tuples(offsets, st.integers(1, 20_000), st.booleans()), max_size=4),
    windows=st.lists(st.tuples(offsets, st.integers(1, 36_000)), max_size=2),
    near=st.lists(
        st.tuples(st.integers(0, 3), st.integers(-90, 90), st.integers(0, 10**6)), max_size=10
    ),
)
def test_database_values_equal_engine(
    tz: str,
    ranges: list[str],
    samples: list[Any],
    probes: list[Any],
    outages: list[Any],
    windows: list[Any],
    near: list[Any],
) -> None:
    # Samples near the edges of maintenance windows, inside minutes only partly covered:
    # the parts the raw rows answer for.
    edges = [e for s, length in windows for e in (s, s + length)]
    seen = {(s, us) for s, us, _ in samples}
    for which, delta, value in near:
        if edges:
            offset = min(max(edges[which % len(edges)] + delta, 0), SPAN - 1)
            if (offset, 0) not in seen:
                seen.add((offset, 0))
                samples = [*samples, (offset, 0, value)]
    with transaction.atomic():
        agreement = agreement_import(data=document(tz, ranges)).agreement
        sid = Service.objects.get(key="svc").pk
        if samples:
            samples_ingest(
                rows=[
                    (
                        sid,
                        "m",
                        START + dt.timedelta(seconds=s, microseconds=us),
                        Decimal(v).scaleb(-6),
                    )
                    for s, us, v in samples
                ],
                closed={},
            )
        if probes:
            probes_ingest(
                rows=[
                    (sid, p, START + dt.timedelta(seconds=s), ok, float(ms) if ok else None)
                    for s, p, ok, ms in probes
                ],
                closed={},
            )
        if outages:
            incidents_ingest(
                rows=[
                    (
                        sid,
                        f"i{i}",
                        "down",
                        "outage",
                        START + dt.timedelta(seconds=s),
                        None if open_ else START + dt.timedelta(seconds=s + length),
                    )
                    for i, (s, length, open_) in enumerate(outages)
                ],
                closed={},
            )
        if windows:
            maintenance_ingest(
                rows=[
                    (
                        sid,
                        f"w{i}",
                        "mw",
                        START + dt.timedelta(seconds=s),
                        START + dt.timedelta(seconds=s + length),
                        START - dt.timedelta(days=30),
                    )
                    for i, (s, length) in enumerate(windows)
                ],
                closed={},
            )
        now = START + dt.timedelta(seconds=SPAN)
        agreement = Agreement.objects.get(pk=agreement.pk)
        version = agreement.versions.get()
        result = evaluate(
            agreement=agreement, period="2026-03", version=version, now=now, closed=False
        )
        assert result is not None
        got = {r.terms.key: r for r in result.objectives}

        terms = terms_of(version.terms)
        start, end = engine.period_bounds("2026-03", tz, terms.effective_from, None)
        maintenance = [
            engine.Maintenance(m.start, m.end, m.announced_at) for m in Maintenance.objects.all()
        ]
        raw_samples = list(Sample.objects.values_list("ts", "value"))
        raw_probes = list(ProbeResult.objects.values_list("ts", "probe", "ok", "latency_ms"))
        raw_outages = list(Incident.objects.values_list("started_at", "resolved_at"))
        for o in terms.objectives:
            covered = engine.covered_time(
                period=(start, min(end, now)),
                tz=tz,
                calendar=o.calendar,
                maintenance=maintenance,
                notice_hours=0,
            )
            if o.key == "mean":
                expected = engine.metric_mean(covered=covered, samples=raw_samples).value
            elif o.key == "sum":
                delivered, _ = engine.metric_sum(covered=covered, samples=raw_samples)
                assert got[o.key].figures.good == delivered
                expected = engine.commitment(
                    minimum=Decimal(5), carried=Decimal(0), delivered=delivered
                ).achieved
            elif o.key == "jitter":
                expected = engine.jitter(covered=covered, probes=raw_probes).value
            elif o.key == "latency":
                expected = engine.mean_latency(
                    covered=covered, probes=[(t, ok, ms) for t, _, ok, ms in raw_probes]
                ).value
            elif o.key == "mttr":
                expected = engine.mttr(
                    covered=covered, started_in=(start, end), outages=raw_outages, now=now
                ).value
            else:
                expected = engine.mtbf(
                    covered=covered, started_in=(start, end), outages=raw_outages
                ).value
            assert got[o.key].figures.achieved == expected, o.key
        transaction.set_rollback(True)
