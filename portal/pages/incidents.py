"""Incidents of the agreement page: what each one counted, and statistics per period."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from agreements import display, engine
from agreements.engine import Kind
from credits.terms import ObjectiveTerms
from metrics.models import Incident
from portal.pages.periods import PeriodFigures

Covered = Callable[[ObjectiveTerms, engine.Interval], list[engine.Interval]]


@dataclass
class IncidentRow:
    incident: Incident
    duration: str
    counted: list[str] = field(default_factory=list)


@dataclass
class PeriodStats:
    period: str
    outages: int
    degraded: int
    mttr: str
    mtbf: str


def incident_rows(
    incidents: Iterable[Incident],
    objectives: Sequence[ObjectiveTerms],
    *,
    down: dict[str, list[dt.datetime]],
    covered: Covered,
    since: dt.datetime,
    now: dt.datetime,
) -> list[IncidentRow]:
    """Incidents still running at ``since`` or later, each with what it counted against
    every availability objective of its service."""
    rows = []
    for i in incidents:
        end = i.resolved_at or now
        if end < since:
            continue
        row = IncidentRow(i, display.duration((end - i.started_at).total_seconds()))
        for o in objectives:
            if o.service == i.service.key and o.kind in _AVAILABILITY:
                row.counted.append(_counted(i, o, covered(o, (i.started_at, end)), down))
        if not row.counted:
            row.counted.append("not counted: no availability objective uses this service")
        rows.append(row)
    return rows


_AVAILABILITY = (Kind.AVAILABILITY_PROBES, Kind.AVAILABILITY_INCIDENTS)


def _counted(
    i: Incident,
    o: ObjectiveTerms,
    covered: list[engine.Interval],
    down: dict[str, list[dt.datetime]],
) -> str:
    """What incident ``i`` counted against objective ``o``, in words."""
    if o.kind == Kind.AVAILABILITY_PROBES:
        ranges = engine.eligible_minute_ranges(covered)
        minutes = sum(
            1 for m in down.get(o.service or "", ()) if any(a <= m < b for a, b in ranges)
        )
        return (
            f"{o.key}: {minutes} min counted — probes found {minutes} down "
            "minute(s) in covered time during the incident"
        )
    if i.impact == Incident.Impact.OUTAGE:
        seconds = engine.duration(covered).total_seconds()
        so_far = " (so far)" if i.resolved_at is None else ""
        return (
            f"{o.key}: {display.duration(seconds)} counted — covered time inside the outage{so_far}"
        )
    return f"{o.key}: not counted — degraded impact is shown only"


def incident_stats(
    periods: Iterable[PeriodFigures], incidents: Sequence[Incident], *, now: dt.datetime
) -> list[PeriodStats]:
    """Outages, degraded incidents, MTTR and MTBF of each period (wall-clock time)."""
    out = []
    for p in periods:
        start, end = p.row.start, min(p.row.end, now)
        inside = [i for i in incidents if i.started_at < end and (i.resolved_at or now) > start]
        outages = [i for i in inside if i.impact == Incident.Impact.OUTAGE]
        repairs = [(i.resolved_at - i.started_at).total_seconds() for i in inside if i.resolved_at]
        down = engine.duration(
            engine.clip(
                engine.union((i.started_at, i.resolved_at or now) for i in outages), (start, end)
            )
        )
        up = max((end - start) - down, dt.timedelta(0))
        out.append(
            PeriodStats(
                period=p.row.period,
                outages=len(outages),
                degraded=len(inside) - len(outages),
                mttr=display.duration(statistics.fmean(repairs)) if repairs else "—",
                mtbf=(
                    display.duration(up.total_seconds() / len(outages)) if outages else "no outage"
                ),
            )
        )
    return out
