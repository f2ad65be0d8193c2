"""Objectives over several services (SPEC §3 rule 18) inside a batch evaluation: their
covered time, one read of per-minute probe summaries for all of them, and their figures
with the bad time attributed to each service and its supplier.

Called by ``credits.evaluation._Batch``: ``plan`` for each such objective, ``read`` once
per batch (one query for probe minutes, one for the services' names and suppliers, none
when the batch has no such objective), then ``figures`` per objective. The arithmetic is
the engine's (``engine.combined_from_probes``, ``engine.combined_from_incidents``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q

from agreements import engine
from agreements.engine import Kind
from credits import coverage
from credits.terms import ObjectiveTerms
from metrics.models import ProbeMinute

HOUR = dt.timedelta(hours=1)

Minutes = dict[dt.datetime, tuple[int, int]]
Outages = Mapping[int, list[tuple[dt.datetime, dt.datetime | None]]]


@dataclass(frozen=True)
class Share:
    """The bad units (minutes or seconds) of a combined objective during which one of its
    services was down, with the service's name and supplier (``Service.provider``)."""

    service: str
    name: str
    provider: str
    bad: Decimal

    def as_json(self) -> dict[str, str]:
        return {
            "service": self.service,
            "name": self.name,
            "provider": self.provider,
            "bad": str(self.bad),
        }


@dataclass
class Reads:
    """What the batch's combined objectives need, and what was read for them."""

    # Service id -> the span of minutes to read from its per-minute probe summary.
    spans: dict[int, engine.Interval] = field(default_factory=dict)
    minutes: dict[int, Minutes] = field(default_factory=dict)
    described: dict[str, tuple[str, str]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)

    def plan(
        self,
        *,
        services: Mapping[str, int],
        windows: Sequence[engine.Maintenance],
        tz: str,
        bounds: engine.Interval,
        window: engine.Interval,
        notice_hours: int,
        o: ObjectiveTerms,
    ) -> tuple[list[engine.Interval], list[engine.Interval], tuple[engine.Interval, ...]]:
        """Covered time of a combined objective in its window and last hour, and over the
        whole period. Maintenance of any of its services is removed by rule 3 (a minute
        the objective spans needs every service), then the minutes to read are noted."""
        ordered = tuple(sorted(windows, key=lambda w: (w.start, w.end, w.announced_at)))
        whole, _ = coverage.period_coverage(tz, o.calendar, bounds, ordered, notice_hours)
        covered = engine.clip_sorted(whole, window)
        start, end = window
        hour = engine.clip_sorted(covered, (max(start, end - HOUR), end))
        self.keys.update(o.services)
        if o.kind == Kind.AVAILABILITY_PROBES and covered:
            first, last = covered[0][0], covered[-1][1]
            for key in o.services:
                sid = services.get(key)
                if sid is None:
                    continue
                lo, hi = self.spans.get(sid, (first, last))
                self.spans[sid] = (min(lo, first), max(hi, last))
        return covered, hour, whole

    def read(self) -> None:
        """One query for the probe minutes of every service in its span, one for names."""
        if not self.keys:
            return
        from agreements.models import Service

        self.described = {
            key: (name, provider)
            for key, name, provider in Service.objects.filter(key__in=self.keys).values_list(
                "key", "name", "provider"
            )
        }
        if not self.spans:
            return
        # The ORM, not raw SQL: one range scan of the (service, minute) key per service.
        wanted = Q()
        for sid, (lo, hi) in self.spans.items():
            wanted |= Q(service_id=sid, minute__gte=lo, minute__lt=hi)
        for sid, minute, ok, failed in ProbeMinute.objects.filter(wanted).values_list(
            "service_id", "minute", "ok", "failed"
        ):
            self.minutes.setdefault(sid, {})[minute] = (ok, failed)

    def figures(
        self,
        *,
        o: ObjectiveTerms,
        services: Mapping[str, int],
        outages: Outages,
        covered: Sequence[engine.Interval],
        hour: Sequence[engine.Interval],
        now: dt.datetime,
    ) -> tuple[engine.Figures, engine.Figures, tuple[Share, ...]]:
        """The objective's figures over its window and its last hour, and the attribution."""
        combine = o.combine or "all"
        if o.kind == Kind.AVAILABILITY_PROBES:
            counts = {key: self.minutes.get(services.get(key, -1), {}) for key in o.services}
            found = engine.combined_from_probes(
                covered=covered, minute_counts=counts, combine=combine
            )
            recent = engine.combined_from_probes(
                covered=hour, minute_counts=counts, combine=combine
            ).figures
        else:
            spans = {key: outages.get(services.get(key, -1), []) for key in o.services}
            found = engine.combined_from_incidents(
                covered=covered, outages=spans, combine=combine, now=now
            )
            recent = engine.combined_from_incidents(
                covered=hour, outages=spans, combine=combine, now=now
            ).figures
        shares = tuple(
            Share(key, *self.described.get(key, ("", "")), found.attribution[key])
            for key in o.services
        )
        return found.figures, recent, shares


def incident_services(
    objectives: Sequence[ObjectiveTerms], services: Mapping[str, int]
) -> set[int]:
    """Ids of the services of combined objectives from incidents, whose outages to read."""
    return {
        services[key]
        for o in objectives
        if o.services and o.kind == Kind.AVAILABILITY_INCIDENTS
        for key in o.services
        if key in services
    }


def attribution_json(shares: Sequence[Share]) -> list[dict[str, Any]]:
    """How an evaluation stores its attribution (``Evaluation.attribution``)."""
    return [s.as_json() for s in shares]
