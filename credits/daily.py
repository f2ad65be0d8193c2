"""Availability per local day, for the daily history of an objective.

A day's figures are (good, bad) in the objective's units: minutes from the probe
summaries (rule 4, whose down minutes come from ``ProbeMinute.objects.down()``), or
seconds of covered time inside outages (rule 5, ``engine.availability_from_incidents``).
An objective over several services (rule 18) gets per day its combined result, from
``engine.combined_from_probes`` or ``engine.combined_from_incidents`` (``combined_days``).
A day is judged against the objective's target with a ``DayVerdict``, which is not an
objective's ``Status``: rule 10's ``at_risk`` is about a period's error budget, and a
single day has none.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db.models import CharField, IntegerField, Value

from agreements import engine
from metrics.models import ProbeHour, ProbeMinute

__all__ = [
    "DayFigures",
    "DayVerdict",
    "ProbeDays",
    "combined_days",
    "day_verdict",
    "days_between",
    "incident_days",
    "local_day_start",
    "probe_days",
    "probe_minutes",
]

DayFigures = tuple[Decimal, Decimal]  # (good, bad) in the objective's units


class DayVerdict(StrEnum):
    """How one day's availability compares with the objective's target."""

    WITHIN = "within_target"
    BELOW = "below_target"  # the day's error rate is at most twice the allowed rate
    FAR_BELOW = "far_below_target"
    NO_DATA = "no_data"

    @property
    def words(self) -> str:
        """The verdict as people read it ("far below target")."""
        return self.value.replace("_", " ")


def day_verdict(achieved: Decimal | None, target: Decimal) -> DayVerdict:
    """``achieved`` (a percent, None without data) of one day against ``target``."""
    if achieved is None:
        return DayVerdict.NO_DATA
    if achieved >= target:
        return DayVerdict.WITHIN
    allowed = Decimal(100) - target
    return DayVerdict.BELOW if achieved >= target - allowed else DayVerdict.FAR_BELOW


def local_day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant at which local ``day`` starts in ``zone``."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def days_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Every date from ``first`` to ``last``, both included."""
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


@dataclass
class ProbeDays:
    """Up and down minutes of probe-measured services per local day, and every down minute."""

    days: dict[tuple[str, dt.date], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    down: dict[str, list[dt.datetime]] = field(default_factory=lambda: defaultdict(list))

    def of(self, service: str) -> dict[dt.date, DayFigures]:
        """(up, down) minutes per local day of one service."""
        return {
            day: (Decimal(up), Decimal(dn))
            for (key, day), (up, dn) in self.days.items()
            if key == service
        }


def probe_days(services: Iterable[str], *, since: dt.datetime, zone: ZoneInfo) -> ProbeDays:
    """Minutes of ``services`` from ``since`` on (one query).

    Whole hours come from the hour summary, counted in the local day the hour starts in;
    down minutes one by one, so incidents and evidence can say which minutes counted.
    """
    out = ProbeDays()
    keys = set(services)
    if not keys:
        return out
    hours = ProbeHour.objects.filter(service__key__in=keys, hour__gte=since).values_list(
        "service__key", "hour", "up", "down", Value("h", output_field=CharField())
    )
    failing = (
        ProbeMinute.objects.filter(service__key__in=keys, minute__gte=since)
        .down()
        .values_list(
            "service__key",
            "minute",
            Value(0, output_field=IntegerField()),
            Value(1, output_field=IntegerField()),
            Value("m", output_field=CharField()),
        )
    )
    for key, at, up, dn, kind in hours.union(failing, all=True):
        if kind == "h":
            cell = out.days[(key, at.astimezone(zone).date())]
            cell[0] += up
            cell[1] += dn
        else:
            out.down[key].append(at)
    for minutes in out.down.values():
        minutes.sort()
    return out


def incident_days(
    *,
    outages: Iterable[tuple[dt.datetime, dt.datetime | None]],
    first: dt.date,
    last: dt.date,
    tz: str,
    calendar: engine.Calendar | None,
    now: dt.datetime,
) -> dict[dt.date, DayFigures]:
    """(good, bad) covered seconds per local day with covered time, by rule 5."""
    zone = ZoneInfo(tz)
    spans = list(outages)
    out: dict[dt.date, DayFigures] = {}
    for day in days_between(first, last):
        window = (
            local_day_start(day, zone),
            min(now, local_day_start(day + dt.timedelta(days=1), zone)),
        )
        if window[1] <= window[0]:
            continue
        figures = engine.availability_from_incidents(
            covered=engine.coverage(window, tz, calendar), outages=spans, now=now
        )
        if figures.eligible:
            out[day] = (figures.good, figures.bad)
    return out


Counts = dict[dt.datetime, tuple[int, int]]  # UTC minute -> (ok, failed)


def probe_minutes(services: Iterable[str], *, since: dt.datetime) -> dict[str, Counts]:
    """Per-minute ``(ok, failed)`` probe counts of ``services`` from ``since`` on (one
    query), keyed by service key: what rule 18 combines minute by minute."""
    out: dict[str, Counts] = {}
    keys = set(services)
    if not keys:
        return out
    for key, minute, ok, failed in ProbeMinute.objects.filter(
        service__key__in=keys, minute__gte=since
    ).values_list("service__key", "minute", "ok", "failed"):
        out.setdefault(key, {})[minute] = (ok, failed)
    return out


def combined_days(
    *,
    services: Iterable[str],
    combine: str,
    minutes: Mapping[str, Counts] | None = None,
    outages: Mapping[str, Iterable[tuple[dt.datetime, dt.datetime | None]]] | None = None,
    first: dt.date,
    last: dt.date,
    tz: str,
    calendar: engine.Calendar | None,
    now: dt.datetime,
) -> dict[dt.date, DayFigures]:
    """(good, bad) per local day of an objective over several services (rule 18): up and
    down minutes from the services' per-minute probe counts (``minutes``, service key ->
    counts), or covered seconds outside and inside the combined outages (``outages``,
    service key -> outage incidents). A service without an entry has no data (probes) or
    no outage (incidents). Days without a combined result are left out, as a single
    service's. Raises ValueError for a ``combine`` other than ``all`` or ``any``."""
    zone = ZoneInfo(tz)
    keys = list(services)
    by_day: dict[dt.date, dict[str, Counts]] = defaultdict(lambda: {k: {} for k in keys})
    for key in keys:
        for minute, counts in (minutes or {}).get(key, {}).items():
            by_day[minute.astimezone(zone).date()][key][minute] = counts
    spans = {key: list((outages or {}).get(key, ())) for key in keys}
    out: dict[dt.date, DayFigures] = {}
    for day in days_between(first, last):
        window = (
            local_day_start(day, zone),
            min(now, local_day_start(day + dt.timedelta(days=1), zone)),
        )
        if window[1] <= window[0]:
            continue
        covered = engine.coverage(window, tz, calendar)
        if minutes is not None:
            if day not in by_day:
                continue
            figures = engine.combined_from_probes(
                covered=covered, minute_counts=by_day[day], combine=combine
            ).figures
            if figures.good + figures.bad:
                out[day] = (figures.good, figures.bad)
        else:
            figures = engine.combined_from_incidents(
                covered=covered, outages=spans, combine=combine, now=now
            ).figures
            if figures.eligible:
                out[day] = (figures.good, figures.bad)
    return out
