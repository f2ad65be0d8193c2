"""The agreement page's read model: its sections, each computed on first use.

Everything here only changes when the period is recomputed or new terms are imported,
so the view renders it once per ``scoping.cache_version`` and the page's fragment cache
skips these queries entirely on a hit. Each kind of measurement is read once (the
``*_all`` and ``probe_days`` properties) and shared by the sections that show it.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from agreements import display, engine
from agreements.engine import Kind
from agreements.models import Agreement, EscalationLevel, TermsVersion
from credits.daily import (
    Counts,
    DayFigures,
    ProbeDays,
    combined_days,
    incident_days,
    local_day_start,
    probe_days,
    probe_minutes,
)
from credits.exclusions import exclusions_of
from credits.forecast import forecast
from credits.terms import ObjectiveTerms, Terms, terms_of
from metrics.models import Exclusion, Incident, Maintenance
from portal import charts
from portal.pages.history import HISTORY_DAYS, day_bars
from portal.pages.incidents import IncidentRow, PeriodStats, incident_rows, incident_stats
from portal.pages.latency import LatencyRow, latency_rows
from portal.pages.maintenance import MaintenanceRow, maintenance_rows
from portal.pages.objectives import ObjectiveView, burndown
from portal.pages.periods import PeriodFigures, current_of, periods_of
from portal.pages.terms import calendar_lines, objective_sentence

# Exclusions recorded ahead of time (a planned customer-side change) are listed too.
EXCLUSIONS_AHEAD = dt.timedelta(days=366)


class AgreementPage:
    """Sections of one agreement's page, each computed on first use."""

    def __init__(self, agreement: Agreement, now: dt.datetime) -> None:
        self.agreement = agreement
        self.now = now
        self.zone = ZoneInfo(agreement.timezone)
        self.today = now.astimezone(self.zone).date()

    @cached_property
    def periods(self) -> list[PeriodFigures]:
        return periods_of([self.agreement.pk]).get(self.agreement.pk, [])

    @cached_property
    def current(self) -> PeriodFigures | None:
        return current_of(self.periods, self.agreement, self.now)

    @cached_property
    def closed_periods(self) -> list[PeriodFigures]:
        return [p for p in self.periods if p.row.is_closed]

    # -- terms ---------------------------------------------------------------------------

    @cached_property
    def versions(self) -> list[TermsVersion]:
        return list(self.agreement.versions.order_by("-number"))

    @cached_property
    def snapshot(self) -> dict[str, Any] | None:
        if self.current is not None:
            return self.current.row.terms_version.terms
        return self.versions[0].terms if self.versions else None

    @cached_property
    def terms(self) -> Terms | None:
        return terms_of(self.snapshot) if self.snapshot else None

    @property
    def objective_terms(self) -> tuple[ObjectiveTerms, ...]:
        return self.terms.objectives if self.terms else ()

    @cached_property
    def calendars(self) -> list[tuple[str, list[str], list[str]]]:
        return calendar_lines(self.snapshot or {})

    @cached_property
    def escalation(self) -> list[tuple[int, str, str]]:
        return [
            (
                lvl.level,
                display.duration(lvl.after_seconds) if lvl.after_seconds else "at once",
                lvl.contact,
            )
            for lvl in EscalationLevel.objects.filter(agreement_id=self.agreement.pk)
        ]

    @cached_property
    def service_keys(self) -> set[str]:
        keys = {o.service for o in self.objective_terms if o.service}
        return keys | {key for o in self.objective_terms for key in o.services}  # rule 18

    # -- measurements (one query per kind) ------------------------------------------------

    @cached_property
    def history_start(self) -> dt.date:
        first = self.today - dt.timedelta(days=HISTORY_DAYS - 1)
        return max(first, self.agreement.effective_from)

    @cached_property
    def since(self) -> dt.datetime:
        return local_day_start(self.history_start, self.zone)

    @cached_property
    def probe_days(self) -> ProbeDays:
        probed = {o.service for o in self.objective_terms if o.kind == Kind.AVAILABILITY_PROBES}
        return probe_days({k for k in probed if k}, since=self.since, zone=self.zone)

    @cached_property
    def combined_minutes(self) -> dict[str, Counts]:
        """Per-minute probe counts of the services of probe objectives over several
        services (rule 18), combined minute by minute for their daily bars."""
        keys = {
            key
            for o in self.objective_terms
            if o.services and o.kind == Kind.AVAILABILITY_PROBES
            for key in o.services
        }
        return probe_minutes(keys, since=self.since)

    @cached_property
    def incidents_all(self) -> list[Incident]:
        if not self.service_keys:
            return []
        start = local_day_start(min(self.history_start, self.agreement.effective_from), self.zone)
        return list(
            Incident.objects.filter(service__key__in=self.service_keys, started_at__lt=self.now)
            .exclude(resolved_at__lt=start)
            .select_related("service")
            .prefetch_related("status_updates")  # the public timeline, as on /status/
            .order_by("-started_at")
        )

    @cached_property
    def maintenance_all(self) -> list[Maintenance]:
        if not self.service_keys:
            return []
        return list(
            Maintenance.objects.filter(service__key__in=self.service_keys, end__gte=self.since)
            .select_related("service")
            .order_by("start")
        )

    @cached_property
    def exclusions_all(self) -> list[Exclusion]:
        """The provider's exclusions on the agreement's services since the page's history
        starts, each listed with its reason (rule 3)."""
        return exclusions_of(self.service_keys, self.since, self.now + EXCLUSIONS_AHEAD)

    def covered(self, o: ObjectiveTerms, window: engine.Interval) -> list[engine.Interval]:
        """Covered time of ``o`` inside ``window`` (rules 2 and 3)."""
        assert self.terms is not None
        return engine.covered_time(
            period=window,
            tz=self.terms.timezone,
            calendar=o.calendar,
            maintenance=[
                engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
                for m in self.maintenance_all
                if m.service.key == o.service
            ],
            notice_hours=self.terms.maintenance_notice_hours,
            exclusions=[
                (x.start, x.end) for x in self.exclusions_all if x.service.key == o.service
            ],
        )

    def daily(self, o: ObjectiveTerms) -> dict[dt.date, DayFigures]:
        """(good, bad) per local day of an availability objective, where known."""
        if o.services and o.kind in (Kind.AVAILABILITY_PROBES, Kind.AVAILABILITY_INCIDENTS):
            probes = o.kind == Kind.AVAILABILITY_PROBES
            return combined_days(
                services=o.services,
                combine=o.combine or "all",
                minutes=self.combined_minutes if probes else None,
                outages=None if probes else self._outages_by_service(o.services),
                first=self.history_start,
                last=self.today,
                tz=self.agreement.timezone,
                calendar=o.calendar,
                now=self.now,
            )
        if o.kind == Kind.AVAILABILITY_PROBES:
            return self.probe_days.of(o.service or "")
        if o.kind == Kind.AVAILABILITY_INCIDENTS:
            return incident_days(
                outages=[
                    (i.started_at, i.resolved_at)
                    for i in self.incidents_all
                    if i.service.key == o.service and i.impact == Incident.Impact.OUTAGE
                ],
                first=self.history_start,
                last=self.today,
                tz=self.agreement.timezone,
                calendar=o.calendar,
                now=self.now,
            )
        return {}

    def _outages_by_service(
        self, keys: tuple[str, ...]
    ) -> dict[str, list[tuple[dt.datetime, dt.datetime | None]]]:
        out: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = {k: [] for k in keys}
        for i in self.incidents_all:
            if i.service.key in out and i.impact == Incident.Impact.OUTAGE:
                out[i.service.key].append((i.started_at, i.resolved_at))
        return out

    # -- sections -------------------------------------------------------------------------

    @cached_property
    def objectives(self) -> list[ObjectiveView]:
        evaluations = {
            e.objective_key: e for e in (self.current.evaluations if self.current else [])
        }
        return [self._objective(o, evaluations.get(o.key)) for o in self.objective_terms]

    def _objective(self, o: ObjectiveTerms, e: Any) -> ObjectiveView:
        view = ObjectiveView(terms=o, evaluation=e, sentence=objective_sentence(o))
        shown = view.budget
        # A target that allows no bad unit at all has no meter to fill nor budget to burn
        # down: its words say so.
        has_meter = shown is None or shown.percent is not None
        if has_meter:
            view.gauge = charts.gauge_svg(
                shown.percent if shown else None, label=f"{o.key}: error budget"
            )
        daily = self.daily(o)
        if self.current is not None and not self.current.row.is_closed and has_meter:
            view.burndown = burndown(o, e, self.current.row, daily, now=self.now, zone=self.zone)
        if o.kind in (Kind.AVAILABILITY_PROBES, Kind.AVAILABILITY_INCIDENTS):
            view.days = day_bars(
                o,
                daily,
                self.incidents_all,
                first=self.history_start,
                last=self.today,
                zone=self.zone,
                now=self.now,
            )
            view.bars = charts.daily_bars_svg(
                view.days, title=f"{o.key}: daily availability, last {HISTORY_DAYS} days"
            )
        return view

    @cached_property
    def forecast(self) -> dict[str, Any] | None:
        if self.current is None or self.current.row.is_closed:
            return None
        return forecast(
            agreement=self.agreement,
            period=self.current.row,
            evaluations=self.current.evaluations,
            now=self.now,
        )

    @cached_property
    def incidents(self) -> list[IncidentRow]:
        return incident_rows(
            self.incidents_all,
            self.objective_terms,
            down=self.probe_days.down,
            covered=self.covered,
            since=self.since,
            now=self.now,
        )

    @cached_property
    def incident_stats(self) -> list[PeriodStats]:
        return incident_stats(self.periods, self.incidents_all, now=self.now)

    @cached_property
    def latency(self) -> list[LatencyRow]:
        kinds = (Kind.LATENCY, Kind.AVAILABILITY_PROBES)
        keys = {o.service for o in self.objective_terms if o.kind in kinds and o.service}
        return latency_rows(keys, now=self.now)

    @cached_property
    def maintenance(self) -> tuple[list[MaintenanceRow], list[MaintenanceRow]]:
        notice = self.terms.maintenance_notice_hours if self.terms else 0
        return maintenance_rows(self.maintenance_all, notice_hours=notice, now=self.now)
