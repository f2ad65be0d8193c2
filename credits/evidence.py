"""What a closed period's figures rest on: down spells, incidents and maintenance.

Each objective of a statement lists the evidence behind its figure (rule 3: "every
window and exclusion is listed, with why it was or was not removed"). The covered time
comes from ``engine.covered_time`` and down minutes from ``ProbeMinute.objects.down()``,
the homes of rules 2 to 5, so the evidence can never disagree with the evaluation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from agreements import display, engine
from agreements.engine import Kind
from credits.exclusions import exclusion_reason, exclusions_of
from credits.models import Period
from credits.terms import ObjectiveTerms, Terms
from metrics.models import Exclusion, Incident, Maintenance, ProbeMinute, Ticket

__all__ = ["Evidence", "down_spells", "evidence_of", "maintenance_verdict"]

Spell = tuple[dt.datetime, dt.datetime, int]  # start, end, minutes
IncidentLine = tuple[str, str, dt.datetime, dt.datetime | None, Decimal]
# external id, priority, opened (local), elapsed covered seconds, threshold seconds
TicketLine = tuple[str, str, dt.datetime, Decimal, Decimal]
MaintenanceLine = tuple[str, dt.datetime, dt.datetime, bool, str]
# external id, start (local), end (local), reason and note in words (rule 3)
ExclusionLine = tuple[str, dt.datetime, dt.datetime, str]
# Rule 18: service key, name, supplier, bad units attributed to it, unit (minutes|seconds)
ServiceLine = tuple[str, str, str, Decimal, str]


@dataclass(frozen=True)
class Evidence:
    """What an objective's figures rest on."""

    down_spells: tuple[Spell, ...] = ()
    # title, impact, start, end, seconds counted
    incidents: tuple[IncidentLine, ...] = ()
    # title, start, end, excluded?, reason
    maintenance: tuple[MaintenanceLine, ...] = ()
    # the tickets that breached the objective's threshold (rule 8), and by how much
    breached_tickets: tuple[TicketLine, ...] = ()
    # the provider's exclusions removed from the objective's covered time
    exclusions: tuple[ExclusionLine, ...] = ()
    # an objective over several services (rule 18): each service and its share of the
    # bad time, as the evaluation attributed it (the figures the page shows)
    services: tuple[ServiceLine, ...] = ()


def maintenance_verdict(m: Maintenance, notice_hours: int) -> tuple[bool, str]:
    """Whether window ``m`` is removed from covered time (rule 3), and why, in words."""
    window = engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
    excluded = bool(engine.maintenance_exclusions([window], notice_hours))
    ahead = Decimal((m.start - m.announced_at).total_seconds()) / 3600
    notice = f"the agreement asks for {notice_hours} h notice"
    if excluded:
        return True, f"excluded: announced {_hours(ahead)} h ahead; {notice}"
    return False, f"counted: announced only {_hours(max(ahead, Decimal(0)))} h ahead; {notice}"


def _hours(value: Decimal) -> str:
    return display.plain(round(value, 1))


def down_spells(minutes: Iterable[dt.datetime]) -> list[Spell]:
    """Consecutive down minutes joined into spells (start, end, minutes)."""
    spells: list[list[object]] = []
    for m in minutes:
        if spells and spells[-1][1] == m:
            spells[-1][1] = m + engine.MINUTE
            spells[-1][2] += 1  # type: ignore[operator]
        else:
            spells.append([m, m + engine.MINUTE, 1])
    return [(a, b, n) for a, b, n in spells]  # type: ignore[misc]


def _inside(minute: dt.datetime, ranges: Sequence[engine.Interval]) -> bool:
    return any(a <= minute < b for a, b in ranges)


@dataclass(frozen=True)
class _Sources:
    """The rows a period's evidence is drawn from (five queries at most)."""

    maintenance: list[Maintenance]
    incidents: list[Incident]
    down: dict[str, list[dt.datetime]]
    tickets: list[Ticket]
    exclusions: list[Exclusion]

    @classmethod
    def load(cls, row: Period, terms: Terms) -> _Sources:
        keys = {o.service for o in terms.objectives if o.service}
        keys |= {key for o in terms.objectives for key in o.services}  # rule 18
        maintenance = list(
            Maintenance.objects.filter(service__key__in=keys, start__lt=row.end, end__gt=row.start)
            .select_related("service")
            .order_by("start")
        )
        incidents = list(
            Incident.objects.filter(service__key__in=keys, started_at__lt=row.end)
            .exclude(resolved_at__lte=row.start)
            .select_related("service")
            .order_by("started_at")
        )
        probed = {o.service for o in terms.objectives if o.kind == Kind.AVAILABILITY_PROBES}
        down: dict[str, list[dt.datetime]] = defaultdict(list)
        if probed:
            for key, minute in (
                ProbeMinute.objects.filter(
                    service__key__in=probed, minute__gte=row.start, minute__lt=row.end
                )
                .down()
                .order_by("minute")
                .values_list("service__key", "minute")
            ):
                down[key].append(minute)
        tickets = []
        if any(o.kind in (Kind.RESPONSE_TIME, Kind.RESOLUTION_TIME) for o in terms.objectives):
            tickets = list(
                Ticket.objects.filter(
                    customer_id=row.agreement.customer_id,
                    opened_at__gte=row.start,
                    opened_at__lt=row.end,
                ).order_by("opened_at", "external_id")
            )
        exclusions = exclusions_of(keys, row.start, row.end)
        return cls(maintenance, incidents, down, tickets, exclusions)


def evidence_of(row: Period, terms: Terms) -> dict[str, Evidence]:
    """The evidence of every objective of closed period ``row`` with a service."""
    sources = _Sources.load(row, terms)
    zone = ZoneInfo(terms.timezone)

    def local(t: dt.datetime) -> dt.datetime:
        return t.astimezone(zone)

    evidence = {
        o.key: _objective_evidence(o, row, terms, sources, local)
        for o in terms.objectives
        if o.service
    }
    combined = [o for o in terms.objectives if o.services]
    if combined:
        stored = dict(
            row.evaluations.filter(
                revision=row.revision, objective_key__in=[o.key for o in combined]
            ).values_list("objective_key", "attribution")
        )
        for o in combined:
            evidence[o.key] = _combined_evidence(o, terms, sources, local, stored.get(o.key, []))
    for o in terms.objectives:
        if o.kind in (Kind.RESPONSE_TIME, Kind.RESOLUTION_TIME):
            evidence[o.key] = Evidence(breached_tickets=_breached_tickets(o, row, terms, sources))
    return evidence


def _breached_tickets(
    o: ObjectiveTerms, row: Period, terms: Terms, sources: _Sources
) -> tuple[TicketLine, ...]:
    """The objective's tickets whose elapsed covered time passed its threshold (rule 8),
    measured as closing measured them: an unfinished one up to the period's close."""
    threshold = o.threshold or dt.timedelta(0)
    until = max(row.closed_at or row.end, row.end)
    zone = ZoneInfo(terms.timezone)
    lines = []
    for t in sources.tickets:
        if o.priority and t.priority != o.priority:
            continue
        end = t.first_response_at if o.kind == Kind.RESPONSE_TIME else t.resolved_at
        elapsed = engine.ticket_elapsed(
            engine.Ticket(opened_at=t.opened_at, end_at=end, paused=t.pauses),
            tz=terms.timezone,
            calendar=o.calendar,
            now=until,
        )
        if elapsed > threshold:
            lines.append(
                (
                    t.external_id,
                    t.priority,
                    t.opened_at.astimezone(zone),
                    Decimal(elapsed.total_seconds()),
                    Decimal(threshold.total_seconds()),
                )
            )
    return tuple(lines)


def _objective_evidence(
    o: ObjectiveTerms,
    row: Period,
    terms: Terms,
    sources: _Sources,
    local: Callable[[dt.datetime], dt.datetime],
) -> Evidence:
    windows = [m for m in sources.maintenance if m.service.key == o.service]
    excluded = [x for x in sources.exclusions if x.service.key == o.service]
    covered = engine.covered_time(
        period=(row.start, row.end),
        tz=terms.timezone,
        calendar=o.calendar,
        maintenance=[
            engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
            for m in windows
        ],
        notice_hours=terms.maintenance_notice_hours,
        exclusions=[(x.start, x.end) for x in excluded],
    )
    exclusions = tuple(
        (x.external_id, local(x.start), local(x.end), exclusion_reason(x)) for x in excluded
    )
    maintenance = tuple(
        (
            m.title,
            local(m.start),
            local(m.end),
            *maintenance_verdict(m, terms.maintenance_notice_hours),
        )
        for m in windows
    )
    if o.kind not in (Kind.AVAILABILITY_PROBES, Kind.AVAILABILITY_INCIDENTS):
        return Evidence(maintenance=maintenance, exclusions=exclusions)
    ranges = engine.eligible_minute_ranges(covered)
    counted = [m for m in sources.down.get(o.service or "", []) if _inside(m, ranges)]
    spells = tuple((local(a), local(b), n) for a, b, n in down_spells(counted))
    incidents = tuple(
        _incident_line(i, o, row, covered, counted, local)
        for i in sources.incidents
        if i.service.key == o.service
    )
    return Evidence(
        down_spells=spells, incidents=incidents, maintenance=maintenance, exclusions=exclusions
    )


def _incident_line(
    i: Incident,
    o: ObjectiveTerms,
    row: Period,
    covered: Sequence[engine.Interval],
    counted: Sequence[dt.datetime],
    local: Callable[[dt.datetime], dt.datetime],
) -> IncidentLine:
    """One incident and the bad time it caused: covered seconds inside an outage (rule 5)
    or the counted down minutes inside it (rule 4)."""
    end = min(i.resolved_at or row.end, row.end)
    inside = engine.intersect(covered, [(max(i.started_at, row.start), end)])
    if o.kind == Kind.AVAILABILITY_INCIDENTS:
        outage = i.impact == Incident.Impact.OUTAGE
        seconds = Decimal(engine.duration(inside).total_seconds()) if outage else Decimal(0)
    else:
        seconds = Decimal(60 * sum(1 for m in counted if _inside(m, inside)))
    return (
        i.title,
        i.get_impact_display().lower(),
        local(i.started_at),
        local(i.resolved_at) if i.resolved_at else None,
        seconds,
    )


def _combined_evidence(
    o: ObjectiveTerms,
    terms: Terms,
    sources: _Sources,
    local: Callable[[dt.datetime], dt.datetime],
    attribution: Sequence[dict[str, str]],
) -> Evidence:
    """Rule 18: the services of an objective over several services with the bad time
    attributed to each (as the evaluation stored it, so the page's figures), and the
    maintenance windows (removed by rule 3) and exclusions of each listed service that
    took time out of its covered time. Each line names its service."""
    unit = "minutes" if o.kind == Kind.AVAILABILITY_PROBES else "seconds"
    services = tuple(
        (a["service"], a.get("name", ""), a.get("provider", ""), Decimal(a["bad"]), unit)
        for a in attribution
    )
    listed = set(o.services)
    maintenance = []
    for m in sources.maintenance:
        if m.service.key not in listed:
            continue
        excluded, reason = maintenance_verdict(m, terms.maintenance_notice_hours)
        if excluded:
            title = f"{m.service.key}: {m.title}"
            maintenance.append((title, local(m.start), local(m.end), excluded, reason))
    exclusions = tuple(
        (f"{x.service.key}: {x.external_id}", local(x.start), local(x.end), exclusion_reason(x))
        for x in sources.exclusions
        if x.service.key in listed
    )
    return Evidence(maintenance=tuple(maintenance), exclusions=exclusions, services=services)
