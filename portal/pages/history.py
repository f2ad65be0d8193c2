"""The daily history of an availability objective: one bar per local day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from agreements import display, engine
from agreements.engine import Kind
from credits.daily import DayFigures, day_verdict, days_between
from credits.terms import ObjectiveTerms
from metrics.models import Incident
from portal import charts

HISTORY_DAYS = 90


def day_bars(
    o: ObjectiveTerms,
    daily: dict[dt.date, DayFigures],
    incidents: Iterable[Incident],
    *,
    first: dt.date,
    last: dt.date,
    zone: ZoneInfo,
    now: dt.datetime,
) -> list[charts.DayBar]:
    """A bar for every local day from ``first`` to ``last``, judged against the target."""
    titles = _incident_titles(o, incidents, zone, now)
    bars = []
    for day in days_between(first, last):
        good, bad = daily.get(day, (Decimal(0), Decimal(0)))
        achieved = engine.achieved(good, bad)
        bars.append(
            charts.DayBar(
                day=day,
                achieved=achieved,
                verdict=day_verdict(achieved, o.target),
                label=_label(o, achieved, bad),
                incidents=tuple(titles.get(day, ())),
            )
        )
    return bars


def _label(o: ObjectiveTerms, achieved: Decimal | None, bad: Decimal) -> str:
    if achieved is None:
        return display.percent(None)
    if o.kind == Kind.AVAILABILITY_PROBES:
        bad_text = f"{display.count(bad, 'min')} down"
    else:
        bad_text = f"{display.duration(bad)} of outage"
    return f"{display.percent(achieved, o.target)} available ({bad_text})"


def _incident_titles(
    o: ObjectiveTerms, incidents: Iterable[Incident], zone: ZoneInfo, now: dt.datetime
) -> dict[dt.date, list[str]]:
    """The incidents of ``o``'s service (or services, rule 18) on each local day they
    touch."""
    keys = set(o.services) if o.services else {o.service}
    titles: dict[dt.date, list[str]] = defaultdict(list)
    for i in incidents:
        if i.service.key not in keys:
            continue
        first = i.started_at.astimezone(zone).date()
        last = (i.resolved_at or now).astimezone(zone).date()
        for day in days_between(first, last):
            titles[day].append(f"{i.title} ({i.get_impact_display().lower()})")
    return titles
