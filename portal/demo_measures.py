"""Demo measurements of the further objective forms (rules 15-17): the network agreement's
probes, packet counts and throughput samples, and the outsourcing agreement's outages and
hours of work, one short month carrying its shortfall into the next (deterministic)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from agreements.models import Service
from metrics.services import events_ingest, incidents_ingest, probes_ingest, samples_ingest

HOUR = dt.timedelta(hours=1)


def load_further_forms(start: dt.datetime, end: dt.datetime, rng: random.Random) -> str:
    """Load them from ``start`` to ``end``; a line saying what was loaded ("" when the
    demo agreements of these forms are not there)."""
    wan = Service.objects.filter(key="wan-link").first()
    desk = Service.objects.filter(key="ops-desk").first()
    if wan is None or desk is None:
        return ""
    probes, events, samples = _network(wan, start, end, rng)
    outages, hours = _outsourcing(desk, start, end, rng)
    return (
        f"Loaded {probes} network probes, {events} packet counts, {samples} throughput samples, "
        f"{outages} desk outages and {hours} days of committed hours."
    )


def _network(
    wan: Service, start: dt.datetime, end: dt.datetime, rng: random.Random
) -> tuple[int, int, int]:
    probes: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    samples: list[tuple[Any, ...]] = []
    moment = start
    # A congested week in the middle month: jitter and throughput suffer.
    congested = (start + dt.timedelta(days=40), start + dt.timedelta(days=47))
    while moment < end:
        bad = congested[0] <= moment < congested[1]
        for location, base in (("fra", 18.0), ("ber", 24.0)):
            spread = 200.0 if bad else 12.0
            latency = round(base + rng.random() * spread, 1)
            probes.append((wan.pk, location, moment + dt.timedelta(seconds=7), True, latency))
        total = rng.randint(40_000, 60_000)
        events.append((wan.pk, moment, total - rng.randint(0, 150), total))
        mbps = Decimal(rng.randint(450_000, 650_000) if bad else rng.randint(905_000, 990_000))
        samples.append((wan.pk, "throughput_mbps", moment, mbps.scaleb(-3)))
        moment += dt.timedelta(minutes=5)
    for i in range(0, len(probes), 20_000):
        probes_ingest(rows=probes[i : i + 20_000], closed={})
    events_ingest(rows=events, closed={})
    samples_ingest(rows=samples, closed={})
    return len(probes), len(events), len(samples)


def _outsourcing(
    desk: Service, start: dt.datetime, end: dt.datetime, rng: random.Random
) -> tuple[int, int]:
    # (start offset in days, hours to restore): the second month's long outage breaks the
    # 4 h mean time to restore.
    spans = [(4.2, 1.5), (16.8, 3.0), (38.1, 9.5), (52.4, 2.0), (70.3, 0.75)]
    outages = [
        (
            desk.pk,
            f"OPS-{n + 1:03d}",
            "Operations outage",
            "outage",
            start + dt.timedelta(days=offset),
            start + dt.timedelta(days=offset) + hours * HOUR,
        )
        for n, (offset, hours) in enumerate(spans)
        if start + dt.timedelta(days=offset) + hours * HOUR < end
    ]
    incidents_ingest(rows=outages, closed={})
    # Hours of work per working day: about 8, fewer in the first month (a shortfall the
    # second month must make up, rule 17).
    rows = []
    day = start
    while day + HOUR * 18 < end:
        if day.weekday() < 5:
            short = day < start + dt.timedelta(days=28)
            hours = Decimal(rng.randint(5, 7) if short else rng.randint(8, 10))
            rows.append((desk.pk, "hours_worked", day + HOUR * 17, hours))
        day += dt.timedelta(days=1)
    samples_ingest(rows=rows, closed={})
    return len(outages), len(rows)
