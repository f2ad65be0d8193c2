"""Availability over several services (rule 18): probes (rule 4 per service) and incidents
(rule 5 per service) combined ``all`` (in series: down when any service is down) or ``any``
(redundant: down only when every service is down), with the bad time attributed to each
service that was down in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .basics import MINUTE, Interval, _seconds, _utc
from .indicators import (
    Figures,
    availability_from_incidents,
    availability_from_minute_states,
    classify_minute,
    eligible_minute_ranges,
)
from .intervals import duration, intersect, union
from .words import MinuteState

ALL = "all"
ANY = "any"
COMBINES = (ALL, ANY)


@dataclass(frozen=True)
class Combined:
    """A combined objective's figures, and the bad units (minutes for probes, seconds for
    incidents) attributed to each service: ``attribution`` maps service key -> bad units
    during which that service was down (so with ``all`` the attributions may add up to
    more than ``figures.bad`` when services were down together)."""

    figures: Figures
    attribution: dict[str, Decimal]


def _check_combine(combine: str) -> None:
    if combine not in COMBINES:
        raise ValueError(f"combine must be 'all' or 'any', not {combine!r}")


def combined_minute_state(states: Sequence[MinuteState | None], combine: str) -> MinuteState | None:
    """Rule 18 for one eligible minute: None (no data) unless every service has data in it;
    then DOWN when any (``all``) or every (``any``) service is down, else UP."""
    _check_combine(combine)
    if not states or any(s is None for s in states):
        return None
    down = [s is MinuteState.DOWN for s in states]
    return MinuteState.DOWN if (any(down) if combine == ALL else all(down)) else MinuteState.UP


def combined_from_probes(
    *,
    covered: Sequence[Interval],
    minute_counts: Mapping[str, Mapping[datetime, tuple[int, int]]],
    combine: str,
) -> Combined:
    """Rule 18 over probes: each eligible minute (rule 4) is classified per service with
    ``classify_minute`` from that service's ``(ok, failed)`` counts, then combined with
    ``combined_minute_state``.

    ``minute_counts`` maps each listed service key to its per-minute counts keyed by UTC
    minute start (a service with no entry has no data anywhere). Only minutes where some
    service has counts are visited: O(k) in the number of keys. Raises ValueError for an
    unknown ``combine`` or a key that is not a minute start.
    """
    _check_combine(combine)
    ranges = eligible_minute_ranges(covered)
    eligible = sum((end - start) // MINUTE for start, end in ranges)
    services = list(minute_counts)
    per: dict[str, dict[datetime, tuple[int, int]]] = {}
    for service, counts in minute_counts.items():
        per[service] = {}
        for key, value in counts.items():
            minute = _utc(key)
            if minute.second or minute.microsecond:
                raise ValueError(f"minute_counts key {key!r} is not the start of a UTC minute")
            per[service][minute] = value
    attribution = {s: Decimal(0) for s in services}
    up = down = 0
    candidates = set.intersection(*(set(c) for c in per.values())) if per else set()
    for minute in sorted(candidates):
        if not any(start <= minute < end for start, end in ranges):
            continue
        states = [classify_minute(*per[s][minute]) for s in services]
        verdict = combined_minute_state(states, combine)
        if verdict is None:
            continue
        if verdict is MinuteState.UP:
            up += 1
            continue
        down += 1
        for service, state in zip(services, states, strict=True):
            if state is MinuteState.DOWN:
                attribution[service] += 1
    figures = availability_from_minute_states(up=up, down=down, eligible=eligible)
    return Combined(figures, attribution)


def combined_outage_spans(
    outages: Mapping[str, Iterable[tuple[datetime, datetime | None]]],
    combine: str,
    now: datetime,
) -> list[Interval]:
    """Rule 18 over incidents: the combined down time, the union (``all``) or the
    intersection (``any``) of each service's outage union (rule 5; an unresolved
    incident lasts until ``now``)."""
    _check_combine(combine)
    now = _utc(now)
    spans = [union((a, now if b is None else b) for a, b in found) for found in outages.values()]
    if not spans:
        return []
    if combine == ALL:
        return union(s for one in spans for s in one)
    common = spans[0]
    for one in spans[1:]:
        common = intersect(common, one)
    return common


def combined_from_incidents(
    *,
    covered: Sequence[Interval],
    outages: Mapping[str, Iterable[tuple[datetime, datetime | None]]],
    combine: str,
    now: datetime,
) -> Combined:
    """Rule 18 over incidents, in seconds: downtime is the covered time inside
    ``combined_outage_spans``; each service is attributed the part of that downtime
    during which it had an outage itself. ``outages`` maps every listed service key to
    its outage incidents ``(start, end or None)``. Same figures as
    ``availability_from_incidents`` for one service."""
    now = _utc(now)
    lists = {s: list(found) for s, found in outages.items()}
    down = combined_outage_spans(lists, combine, now)
    figures = availability_from_incidents(covered=covered, outages=down, now=now)
    bad = intersect(union(covered), down)
    attribution = {
        s: _seconds(duration(intersect(bad, union((a, now if b is None else b) for a, b in f))))
        for s, f in lists.items()
    }
    return Combined(figures, attribution)
