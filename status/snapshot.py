"""What the public status page says, computed once and shared by the page, the JSON,
the Atom feed and the badges.

Only services marked ``public`` appear, and of them only what the provider publishes:
names, states, incidents with their public updates, maintenance windows. Nothing here
reads a customer, an agreement, a credit or a private service.

Days are UTC days. A day's uptime is SPEC rule 5 with coverage ``always``: the time of
the day (up to now) less the union of the service's ``outage`` incidents, computed by
``engine.availability_from_incidents``; ``degraded`` incidents are shown, never counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q
from django.utils.crypto import salted_hmac

from agreements import display, engine
from agreements.models import Agreement, Service
from metrics.models import Incident, IncidentStatusUpdate, Maintenance
from status.words import DayState, ServiceState

DAYS = 90
RECENT_INCIDENT_DAYS = 14
UPTIME_WINDOWS = {
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
}


@dataclass(frozen=True)
class Day:
    date: dt.date
    state: DayState
    achieved: Decimal | None  # percent of the day (so far) without an outage
    uptime: str  # as people read it (rule 19)
    incidents: tuple[str, ...]  # titles of the incidents that day


@dataclass
class ServiceStatus:
    key: str
    name: str
    provider: str
    state: ServiceState
    days: list[Day] = field(default_factory=list)
    uptime: dict[str, Decimal | None] = field(default_factory=dict)  # window -> percent

    @property
    def uptime_shown(self) -> list[tuple[str, str]]:
        """(window, percent as people read it) for each uptime window."""
        return [(window, display.percent(value)) for window, value in self.uptime.items()]


def public_id(kind: str, pk: int) -> str:
    """The id an incident or maintenance window (``kind`` "incident" or "maintenance")
    shows in public (status page anchors, ``/status.json``, the Atom feed, subscribers'
    emails): 16 hex digits of an HMAC of its database key under the site's secret, so
    the ids are stable but reveal neither how many records exist nor the private
    services' incidents between two public ones."""
    return salted_hmac("status.public-id", f"{kind}:{pk}").hexdigest()[:16]


@dataclass(frozen=True)
class Update:
    at: dt.datetime
    status: str
    status_label: str
    message: str


@dataclass(frozen=True)
class IncidentView:
    id: str  # public_id("incident", pk)
    service: str
    service_name: str
    title: str
    impact: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    postmortem_url: str
    updates: tuple[Update, ...]
    updated_at: dt.datetime

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class MaintenanceView:
    id: str  # public_id("maintenance", pk)
    service: str
    service_name: str
    title: str
    start: dt.datetime
    end: dt.datetime
    updated_at: dt.datetime


@dataclass
class Snapshot:
    now: dt.datetime
    services: list[ServiceStatus]
    incidents: list[IncidentView]  # open ones, then resolved in the last 14 days
    maintenance: list[MaintenanceView]  # in progress or to come
    past_maintenance: list[MaintenanceView]  # ended in the last 90 days (the feed)
    # Rule 20: the points of contact the documents of the agreements in force over the
    # public services name (role, name, email, phone, hours), each once.
    contacts: list[dict[str, str]] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """ "All systems operational", or what is not."""
        worst = max((s.state for s in self.services), key=ServiceState.rank, default=None)
        if worst is None or worst == ServiceState.OPERATIONAL:
            return "All systems operational"
        affected = [s.name for s in self.services if s.state != ServiceState.OPERATIONAL]
        return f"{ServiceState(worst).headline}: {', '.join(affected)}"

    @property
    def state(self) -> ServiceState:
        return max(
            (s.state for s in self.services),
            key=ServiceState.rank,
            default=ServiceState.OPERATIONAL,
        )


def public_services() -> list[Service]:
    return list(Service.objects.filter(public=True).order_by("name", "key"))


def status_snapshot(*, now: dt.datetime) -> Snapshot:
    """The status of every public service at ``now`` (aware), with 90 UTC days of
    history. A constant number of queries, whatever the number of services."""
    services = public_services()
    today = now.astimezone(dt.UTC).date()
    first_day = today - dt.timedelta(days=DAYS - 1)
    since = dt.datetime.combine(first_day, dt.time(), dt.UTC)
    incidents = list(
        Incident.objects.filter(service__in=services, started_at__lte=now)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .select_related("service")
        .prefetch_related(
            Prefetch("status_updates", queryset=IncidentStatusUpdate.objects.order_by("at", "pk"))
        )
        .order_by("-started_at")
    )
    windows = list(
        Maintenance.objects.filter(service__in=services, end__gte=since)
        .select_related("service")
        .order_by("start")
    )
    by_service: dict[int, list[Incident]] = {}
    for incident in incidents:
        by_service.setdefault(incident.service_id, []).append(incident)
    in_progress = {m.service_id for m in windows if m.start <= now < m.end}
    rows = []
    for service in services:
        mine = by_service.get(service.pk, [])
        row = ServiceStatus(
            key=service.key,
            name=service.name or service.key,
            provider=service.provider,
            state=_state(mine, maintenance=service.pk in in_progress),
        )
        row.days = _days(mine, first_day=first_day, now=now)
        row.uptime = {name: _uptime(mine, now - span, now) for name, span in UPTIME_WINDOWS.items()}
        rows.append(row)
    recent = now - dt.timedelta(days=RECENT_INCIDENT_DAYS)
    shown = [i for i in incidents if i.resolved_at is None] + [
        i for i in incidents if i.resolved_at is not None and i.resolved_at >= recent
    ]
    return Snapshot(
        now=now,
        services=rows,
        incidents=[_incident_view(i) for i in shown],
        maintenance=[_maintenance_view(m) for m in windows if m.end > now],
        past_maintenance=[_maintenance_view(m) for m in windows if m.end <= now],
        contacts=_contacts(services, today=today),
    )


CONTACT_FIELDS = ("role", "name", "email", "phone", "hours")


def _contacts(services: list[Service], *, today: dt.date) -> list[dict[str, str]]:
    """Rule 20: the ``contacts`` of the agreements in force today that measure a public
    service (alone or among several), each distinct contact once, in the documents'
    order. Only the contact fields of the document: nothing else of the agreement. One
    query."""
    if not services:
        return []
    documents = (
        Agreement.objects.active_on(today)
        .filter(Q(objectives__service__in=services) | Q(objectives__listed_services__in=services))
        .order_by("pk")
        .values_list("contacts", flat=True)
    )
    seen: set[tuple[str, ...]] = set()
    out = []
    for contacts in documents:
        for contact in contacts or ():
            shown = {k: str(contact[k]) for k in CONTACT_FIELDS if contact.get(k)}
            identity = tuple(shown.get(k, "") for k in CONTACT_FIELDS)
            if shown and identity not in seen:
                seen.add(identity)
                out.append(shown)
    return out


def uptime_of(service: Service, window: str, *, now: dt.datetime) -> Decimal | None:
    """Percent of ``window`` (a key of UPTIME_WINDOWS) up to ``now`` without an outage."""
    since = now - UPTIME_WINDOWS[window]
    mine = list(
        Incident.objects.filter(service=service, started_at__lte=now).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=since)
        )
    )
    return _uptime(mine, since, now)


def _state(incidents: list[Incident], *, maintenance: bool) -> ServiceState:
    open_impacts = {i.impact for i in incidents if i.resolved_at is None}
    if Incident.Impact.OUTAGE in open_impacts:
        return ServiceState.OUTAGE
    if Incident.Impact.DEGRADED in open_impacts:
        return ServiceState.DEGRADED
    if maintenance:
        return ServiceState.MAINTENANCE
    return ServiceState.OPERATIONAL


def _outages(incidents: list[Incident]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    return [(i.started_at, i.resolved_at) for i in incidents if i.impact == Incident.Impact.OUTAGE]


def _uptime(incidents: list[Incident], start: dt.datetime, now: dt.datetime) -> Decimal | None:
    figures = engine.availability_from_incidents(
        covered=[(start, now)], outages=_outages(incidents), now=now
    )
    return figures.achieved


def _days(incidents: list[Incident], *, first_day: dt.date, now: dt.datetime) -> list[Day]:
    outages = _outages(incidents)
    days = []
    for n in range(DAYS):
        date = first_day + dt.timedelta(days=n)
        start = dt.datetime.combine(date, dt.time(), dt.UTC)
        end = min(start + engine.DAY, now)
        that_day = [i for i in incidents if i.started_at < end and (i.resolved_at or now) > start]
        figures = engine.availability_from_incidents(
            covered=[(start, end)],
            outages=[o for o in outages if o[0] < end and (o[1] or now) > start],
            now=now,
        )
        if figures.bad:
            state = DayState.OUTAGE
        elif that_day:
            state = DayState.DEGRADED
        else:
            state = DayState.OPERATIONAL
        days.append(
            Day(
                date=date,
                state=state,
                achieved=figures.achieved,
                uptime=display.percent(figures.achieved),
                incidents=tuple(i.title for i in that_day),
            )
        )
    return days


def _incident_view(i: Incident) -> IncidentView:
    return IncidentView(
        id=public_id("incident", i.pk),
        service=i.service.key,
        service_name=i.service.name or i.service.key,
        title=i.title,
        impact=i.impact,
        started_at=i.started_at,
        resolved_at=i.resolved_at,
        postmortem_url=i.postmortem_url,
        updates=tuple(
            Update(u.at, u.status, u.get_status_display(), u.message)
            for u in i.status_updates.all()
        ),
        updated_at=max([i.updated_at, *(u.at for u in i.status_updates.all())]),
    )


def _maintenance_view(m: Maintenance) -> MaintenanceView:
    return MaintenanceView(
        id=public_id("maintenance", m.pk),
        service=m.service.key,
        service_name=m.service.name or m.service.key,
        title=m.title,
        start=m.start,
        end=m.end,
        updated_at=m.updated_at,
    )


def service_state(service: Service, *, now: dt.datetime) -> ServiceState:
    """The current state of one service (two queries), for its badge."""
    open_incidents = list(Incident.objects.filter(service=service, resolved_at__isnull=True))
    maintenance = Maintenance.objects.filter(service=service, start__lte=now, end__gt=now).exists()
    return _state(open_incidents, maintenance=maintenance)
