"""Latency of successful probes over the last days: percentiles and jitter per service."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from agreements import display
from metrics.models import ProbeResult

LATENCY_DAYS = 7


@dataclass
class LatencyRow:
    service: str
    samples: int
    p50: float
    p95: float
    p99: float
    jitter: float

    @property
    def texts(self) -> tuple[str, str, str, str]:
        """p50, p95, p99 and jitter as people read them."""
        return (
            display.milliseconds(self.p50),
            display.milliseconds(self.p95),
            display.milliseconds(self.p99),
            display.milliseconds(self.jitter),
        )


def latency_rows(services: Iterable[str], *, now: dt.datetime) -> list[LatencyRow]:
    """One row per service with successful probes in the last ``LATENCY_DAYS`` (one query)."""
    keys = set(services)
    if not keys:
        return []
    since = now - dt.timedelta(days=LATENCY_DAYS)
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for key, probe, latency in (
        ProbeResult.objects.filter(
            service__key__in=keys, ts__gte=since, ok=True, latency_ms__isnull=False
        )
        .order_by("service_id", "probe", "ts")
        .values_list("service__key", "probe", "latency_ms")
    ):
        samples[key][probe].append(float(latency or 0))
    return [_row(key, samples[key]) for key in sorted(samples)]


def _row(key: str, series: dict[str, list[float]]) -> LatencyRow:
    values = sorted(v for one in series.values() for v in one)
    # Jitter compares consecutive probes of the same location only (rule 15).
    steps = [abs(b - a) for one in series.values() for a, b in pairwise(one)]
    return LatencyRow(
        service=key,
        samples=len(values),
        p50=_rank(values, 50),
        p95=_rank(values, 95),
        p99=_rank(values, 99),
        jitter=statistics.fmean(steps) if steps else 0.0,
    )


def _rank(values: list[float], percentile: int) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return 0.0
    index = max(0, -(-percentile * len(values) // 100) - 1)
    return values[min(index, len(values) - 1)]
