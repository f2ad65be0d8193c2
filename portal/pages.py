"""Read side of the portal pages: what each page shows, in a constant number of queries.

Views stay thin: they scope the agreement to the user and hand it here. Everything on
the agreement page that only changes when the period is recomputed (figures, charts,
history, incidents, maintenance, terms) is assembled lazily by ``AgreementPage`` so the
template's fragment cache skips the queries entirely on a hit; see ``cache_version``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    CharField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
)

from agreements import engine
from agreements.engine import Kind, Status
from agreements.models import (
    Agreement,
    AgreementDocument,
    EscalationLevel,
    Membership,
    TermsVersion,
)
from credits.forecast import forecast
from credits.models import Claim, Evaluation, LedgerEntry, Period, Restatement
from credits.terms import ObjectiveTerms, Terms, terms_of
from metrics.models import Incident, Maintenance, ProbeHour, ProbeMinute, ProbeResult
from portal import charts, statements

UTC = dt.UTC
HISTORY_DAYS = 90
LATENCY_DAYS = 7
STATUS_ICONS = {Status.MET: "✓", Status.AT_RISK: "!", Status.BREACHED: "✕", Status.NO_DATA: "?"}
INDICATOR_WORDS = {
    "availability": "Availability",
    "latency": "Latency",
    "ratio": "Delivery ratio",
    "response_time": "First response time",
    "resolution_time": "Resolution time",
}
WEEKDAY_WORDS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --------------------------------------------------------------------------------------------
# Scoping
# --------------------------------------------------------------------------------------------


def visible_agreements(user: Any) -> Any:
    """The agreements ``user`` may see, each with the user's role on its customer."""
    agreements = Agreement.objects.visible_to(user).select_related("customer")
    if getattr(user, "is_staff", False):
        # Staff see every agreement, members of its customer or not.
        role = Membership.objects.filter(user_id=user.pk, customer_id=OuterRef("customer_id"))
        return agreements.annotate(user_role=Subquery(role.values("role")[:1]))
    # visible_to joined the user's own membership: its role comes with the same row.
    return agreements.annotate(user_role=F("customer__memberships__role"))


def with_cache_stamp(agreements: Any) -> Any:
    """``agreements`` with what ``cache_version`` needs, so a cached page costs no query
    about periods: when their periods were last computed (a recompute, close or
    restatement stamps the period it wrote)."""
    return agreements.annotate(periods_stamp=Max("periods__computed_at"))


def can_claim(agreement: Agreement) -> bool:
    return getattr(agreement, "user_role", None) == Membership.Role.MANAGER


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def pct(value: Decimal | None, places: str = "0.001") -> str:
    """A percentage for reading; truncated toward the target side is not needed here."""
    if value is None:
        return "no data"
    q = value.quantize(Decimal(places), rounding=ROUND_HALF_UP)
    text = f"{q:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{'0' if text in ('-0', '') else text}%"


def plain(value: Decimal | int | float | str) -> str:
    text = f"{Decimal(str(value)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def span(seconds: float | Decimal | None) -> str:
    """A duration for people: 95 min -> "1 h 35 min"."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    if total < 60:
        return f"{total} s"
    days, rest = divmod(total // 60, 1440)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def units_text(value: Decimal, unit: str) -> str:
    if unit == "seconds":
        return span(value)
    return f"{plain(value.quantize(Decimal('0.01')))} {unit}"


# --------------------------------------------------------------------------------------------
# Periods and evaluations
# --------------------------------------------------------------------------------------------


@dataclass
class PeriodFigures:
    row: Period
    evaluations: list[Evaluation]

    @property
    def worst(self) -> Evaluation | None:
        return min(
            self.evaluations,
            key=lambda e: (Status(e.status).rank, _budget_key(e)),
            default=None,
        )

    @property
    def status(self) -> str:
        worst = self.worst
        return worst.status if worst else Status.NO_DATA


def _budget_key(e: Evaluation) -> Decimal:
    if e.budget_remaining_percent is None:
        return Decimal("1e9")
    return e.budget_remaining_percent


def periods_of(agreement_ids: Sequence[int]) -> dict[int, list[PeriodFigures]]:
    """Every period of the agreements with the evaluations of its current revision (1 query)."""
    out: dict[int, dict[int, PeriodFigures]] = defaultdict(dict)
    rows = (
        Evaluation.objects.filter(
            period__agreement_id__in=agreement_ids, revision=F("period__revision")
        )
        .select_related("period", "period__terms_version")
        .order_by("period__agreement_id", "-period__period", "position")
    )
    for e in rows:
        p = e.period
        figures = out[p.agreement_id].setdefault(p.pk, PeriodFigures(p, []))
        e.target_text = plain(e.target)  # type: ignore[attr-defined]
        figures.evaluations.append(e)
    return {aid: list(periods.values()) for aid, periods in out.items()}


def current_of(periods: list[PeriodFigures], agreement: Agreement, now: dt.datetime) -> Any:
    """The period holding ``now``, else the latest one (an agreement that has ended)."""
    this = engine.period_id(now, agreement.timezone)
    for p in periods:
        if p.row.period == this:
            return p
    return periods[0] if periods else None


def cache_version(agreement: Agreement) -> str:
    """Changes whenever what the cached parts of the agreement page show can change:
    a recompute or close stamps its period, an import of new terms the agreement.
    Reads the annotation of ``with_cache_stamp``."""
    stamp = getattr(agreement, "periods_stamp", None)
    latest = stamp.isoformat() if stamp else "never"
    return f"{agreement.pk}:{agreement.updated_at.isoformat()}:{latest}"


# --------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------


@dataclass
class AgreementSummary:
    agreement: Agreement
    period: PeriodFigures | None
    balance: Decimal
    claimable: Decimal
    open_incidents: int

    @property
    def status(self) -> str:
        return self.period.status if self.period else Status.NO_DATA

    @property
    def worst(self) -> Evaluation | None:
        return self.period.worst if self.period else None


@dataclass
class BudgetRow:
    agreement: Agreement
    period: str
    evaluation: Evaluation


def dashboard(agreements: list[Agreement], now: dt.datetime) -> list[AgreementSummary]:
    """Each agreement's current period, money owed and open incidents (4 queries)."""
    ids = [a.pk for a in agreements]
    periods = periods_of(ids)
    balances = dict(
        LedgerEntry.objects.filter(agreement_id__in=ids)
        .values_list("agreement_id")
        .annotate(total=Sum("amount"))
    )
    claimable = dict(
        Claim.objects.filter(agreement_id__in=ids, state=Claim.State.CLAIMABLE)
        .values_list("agreement_id")
        .annotate(total=Sum("amount"))
    )
    services: dict[int, set[str]] = defaultdict(set)
    for a in agreements:
        for p in periods.get(a.pk, [])[:1]:
            for o in terms_of(p.row.terms_version.terms).objectives:
                if o.service:
                    services[a.pk].add(o.service)
    keys = set().union(*services.values()) if services else set()
    open_by_service: dict[str, int] = defaultdict(int)
    if keys:
        for key in Incident.objects.filter(
            service__key__in=keys, resolved_at__isnull=True
        ).values_list("service__key", flat=True):
            open_by_service[key] += 1
    return [
        AgreementSummary(
            agreement=a,
            period=current_of(periods.get(a.pk, []), a, now),
            balance=balances.get(a.pk) or Decimal("0.00"),
            claimable=claimable.get(a.pk) or Decimal("0.00"),
            open_incidents=sum(open_by_service[k] for k in services[a.pk]),
        )
        for a in agreements
    ]


def budget_overview(summaries: list[AgreementSummary]) -> list[BudgetRow]:
    """Every objective of every current period, least error budget left first (staff)."""
    rows = [
        BudgetRow(s.agreement, s.period.row.period, e)
        for s in summaries
        if s.period is not None
        for e in s.period.evaluations
    ]
    rows.sort(key=lambda r: (_budget_key(r.evaluation), Status(r.evaluation.status).rank))
    return rows


# --------------------------------------------------------------------------------------------
# Terms in plain language
# --------------------------------------------------------------------------------------------


def objective_sentence(o: ObjectiveTerms) -> str:
    target = f"{plain(o.target)}%"
    coverage = "at all times" if o.coverage == "always" else f"during {o.coverage}"
    if o.kind == Kind.AVAILABILITY_PROBES:
        text = (
            f"{o.service} is available in at least {target} of the covered minutes "
            f"{coverage}, measured by probes (a minute is down when more than half of its "
            "probes fail)."
        )
    elif o.kind == Kind.AVAILABILITY_INCIDENTS:
        text = (
            f"{o.service} is free of outages for at least {target} of the covered time "
            f"{coverage}, measured from reported outage incidents."
        )
    elif o.kind == "latency":
        text = (
            f"At least {target} of successful probes of {o.service} answer within "
            f"{o.threshold_ms} ms {coverage}."
        )
    elif o.kind == "ratio":
        text = f"At least {target} of the events of {o.service} are delivered {coverage}."
    else:
        what = "get a first response" if o.kind == "response_time" else "are resolved"
        which = f"{o.priority} tickets" if o.priority else "Tickets"
        text = (
            f"{which} {what} within {span(o.threshold.total_seconds() if o.threshold else 0)} "
            f"of covered time ({coverage}) in at least {target} of cases."
        )
    return text


def tier_sentences(o: ObjectiveTerms) -> list[str]:
    return [
        f"below {plain(below)}%: {plain(percent)}% of the monthly fee"
        for below, percent in sorted(o.tiers, key=lambda t: -t[0])
    ]


def calendar_lines(snapshot: dict[str, Any]) -> list[tuple[str, list[str], list[str]]]:
    out = []
    for name, body in (snapshot.get("calendars") or {}).items():
        weekly = [f"{day.capitalize()} {', '.join(r)}" for day, r in body["weekly"].items()]
        out.append((name, weekly, list(body.get("holidays") or [])))
    return out


# --------------------------------------------------------------------------------------------
# The agreement page
# --------------------------------------------------------------------------------------------


@dataclass
class ObjectiveView:
    terms: ObjectiveTerms
    evaluation: Evaluation | None
    sentence: str
    gauge: str = ""
    burndown: str = ""
    bars: str = ""
    days: list[charts.DayBar] = field(default_factory=list)

    @property
    def target_text(self) -> str:
        return plain(self.terms.target)

    @property
    def tier_sentences(self) -> list[str]:
        return tier_sentences(self.terms)

    @property
    def achieved_text(self) -> str:
        return pct(self.evaluation.achieved) if self.evaluation else "no data"

    @property
    def completeness_text(self) -> str:
        if self.evaluation is None or self.evaluation.completeness is None:
            return "not applicable"
        return pct(self.evaluation.completeness, "0.1")

    @property
    def budget_text(self) -> str:
        e = self.evaluation
        if e is None or e.budget_remaining_percent is None:
            return "no data"
        left = units_text(e.budget_remaining, e.unit)
        total = units_text(e.budget_total, e.unit)
        return f"{pct(e.budget_remaining_percent, '0.1')} left ({left} of {total})"

    @property
    def status(self) -> str:
        return self.evaluation.status if self.evaluation else Status.NO_DATA


@dataclass
class IncidentRow:
    incident: Incident
    duration: str
    counted: list[str] = field(default_factory=list)


@dataclass
class MaintenanceRow:
    window: Maintenance
    excluded: bool
    reason: str
    upcoming: bool


@dataclass
class PeriodStats:
    period: str
    outages: int
    degraded: int
    mttr: str
    mtbf: str


@dataclass
class LatencyRow:
    service: str
    samples: int
    p50: float
    p95: float
    p99: float
    jitter: float


def _local_day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(UTC)


def _maintenance_reason(m: Maintenance, notice_hours: int) -> tuple[bool, str]:
    ahead = (m.start - m.announced_at).total_seconds() / 3600
    notice = f"the agreement asks for {notice_hours} h notice"
    if m.announced_at <= m.start - dt.timedelta(hours=notice_hours):
        return True, f"excluded: announced {plain(round(ahead, 1))} h ahead; {notice}"
    return False, f"counted: announced only {plain(round(max(ahead, 0), 1))} h ahead; {notice}"


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

    @cached_property
    def calendars(self) -> list[tuple[str, list[str], list[str]]]:
        return calendar_lines(self.snapshot or {})

    @cached_property
    def escalation(self) -> list[tuple[int, str, str]]:
        return [
            (lvl.level, span(lvl.after_seconds) if lvl.after_seconds else "at once", lvl.contact)
            for lvl in EscalationLevel.objects.filter(agreement_id=self.agreement.pk)
        ]

    @cached_property
    def service_keys(self) -> set[str]:
        return {o.service for o in self.terms.objectives if o.service} if self.terms else set()

    # -- measurements (one query per kind) ------------------------------------------------

    @cached_property
    def history_start(self) -> dt.date:
        first = self.today - dt.timedelta(days=HISTORY_DAYS - 1)
        return max(first, self.agreement.effective_from)

    @cached_property
    def _minutes(self) -> tuple[dict[tuple[str, dt.date], list[int]], dict[str, list[dt.datetime]]]:
        """Up/down minutes per service and local day, and every down minute (one query).

        Whole hours come from the hour summary; down minutes one by one, so incidents
        and evidence can say exactly which minutes counted.
        """
        probe_services = (
            {o.service for o in self.terms.objectives if o.kind == Kind.AVAILABILITY_PROBES}
            if self.terms
            else set()
        )
        days: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
        down: dict[str, list[dt.datetime]] = defaultdict(list)
        if not probe_services:
            return days, down
        since = _local_day_start(self.history_start, self.zone)
        hours = ProbeHour.objects.filter(
            service__key__in=probe_services, hour__gte=since
        ).values_list("service__key", "hour", "up", "down", Value("h", output_field=CharField()))
        failing = (
            ProbeMinute.objects.filter(service__key__in=probe_services, minute__gte=since)
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
                cell = days[(key, at.astimezone(self.zone).date())]
                cell[0] += up
                cell[1] += dn
            else:
                down[key].append(at)
        for minutes in down.values():
            minutes.sort()
        return days, down

    @cached_property
    def incidents_all(self) -> list[Incident]:
        if not self.service_keys:
            return []
        start = _local_day_start(min(self.history_start, self.agreement.effective_from), self.zone)
        return list(
            Incident.objects.filter(service__key__in=self.service_keys, started_at__lt=self.now)
            .exclude(resolved_at__lt=start)
            .select_related("service")
            .order_by("-started_at")
        )

    @cached_property
    def maintenance_all(self) -> list[Maintenance]:
        if not self.service_keys:
            return []
        since = _local_day_start(self.history_start, self.zone)
        return list(
            Maintenance.objects.filter(service__key__in=self.service_keys, end__gte=since)
            .select_related("service")
            .order_by("start")
        )

    def _covered(self, o: ObjectiveTerms, window: engine.Interval) -> list[engine.Interval]:
        assert self.terms is not None
        windows = [
            engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
            for m in self.maintenance_all
            if m.service.key == o.service
        ]
        return engine.covered_time(
            period=window,
            tz=self.terms.timezone,
            calendar=o.calendar,
            maintenance=windows,
            notice_hours=self.terms.maintenance_notice_hours,
        )

    # -- objectives -----------------------------------------------------------------------

    @cached_property
    def objectives(self) -> list[ObjectiveView]:
        if self.terms is None:
            return []
        evaluations = {
            e.objective_key: e for e in (self.current.evaluations if self.current else [])
        }
        out = []
        for o in self.terms.objectives:
            e = evaluations.get(o.key)
            view = ObjectiveView(terms=o, evaluation=e, sentence=objective_sentence(o))
            view.gauge = charts.gauge_svg(
                e.budget_remaining_percent if e else None, label=f"{o.key}: error budget"
            )
            if self.current is not None and not self.current.row.is_closed:
                view.burndown = self._burndown(o, e)
            if o.kind.startswith("availability"):
                view.days = self._day_bars(o)
                view.bars = charts.daily_bars_svg(
                    view.days, title=f"{o.key}: daily availability, last {HISTORY_DAYS} days"
                )
            out.append(view)
        return out

    def _daily_bad(self, o: ObjectiveTerms) -> dict[dt.date, tuple[Decimal, Decimal]]:
        """(good, bad) per local day, in the objective's units, where known."""
        out: dict[dt.date, tuple[Decimal, Decimal]] = {}
        if o.kind == Kind.AVAILABILITY_PROBES:
            days, _ = self._minutes
            for (key, day), (up, dn) in days.items():
                if key == o.service:
                    out[day] = (Decimal(up), Decimal(dn))
        elif o.kind == Kind.AVAILABILITY_INCIDENTS:
            outages = [
                (i.started_at, i.resolved_at or self.now)
                for i in self.incidents_all
                if i.service.key == o.service and i.impact == Incident.Impact.OUTAGE
            ]
            day = self.history_start
            while day <= self.today:
                window = (
                    _local_day_start(day, self.zone),
                    min(self.now, _local_day_start(day + dt.timedelta(days=1), self.zone)),
                )
                covered = engine.coverage(window, self.agreement.timezone, o.calendar)
                total = engine.duration(covered).total_seconds()
                bad = engine.duration(
                    engine.intersect(covered, engine.union(outages))
                ).total_seconds()
                if total:
                    out[day] = (Decimal(total - bad), Decimal(bad))
                day += dt.timedelta(days=1)
        return out

    def _day_bars(self, o: ObjectiveTerms) -> list[charts.DayBar]:
        daily = self._daily_bad(o)
        titles: dict[dt.date, list[str]] = defaultdict(list)
        for i in self.incidents_all:
            if i.service.key != o.service:
                continue
            first = i.started_at.astimezone(self.zone).date()
            last = (i.resolved_at or self.now).astimezone(self.zone).date()
            day = first
            while day <= last:
                titles[day].append(f"{i.title} ({i.get_impact_display().lower()})")
                day += dt.timedelta(days=1)
        allowed = Decimal(100) - o.target
        bars = []
        day = self.history_start
        while day <= self.today:
            good, bad = daily.get(day, (Decimal(0), Decimal(0)))
            if good + bad == 0:
                achieved, status = None, "no_data"
                label = "no data"
            else:
                achieved = good * 100 / (good + bad)
                # Below target is "at risk" while the day's error rate is at most twice
                # the allowed rate, "breached" beyond.
                if achieved >= o.target:
                    status = "met"
                elif achieved >= o.target - allowed:
                    status = "at_risk"
                else:
                    status = "breached"
                what = "down" if o.kind == Kind.AVAILABILITY_PROBES else "of outage"
                bad_text = (
                    f"{int(bad)} min {what}"
                    if o.kind == Kind.AVAILABILITY_PROBES
                    else f"{span(bad)} {what}"
                )
                label = f"{pct(achieved, '0.01')} available ({bad_text})"
            bars.append(
                charts.DayBar(
                    day=day,
                    achieved=achieved,
                    status=status,
                    label=label,
                    incidents=tuple(titles.get(day, ())),
                )
            )
            day += dt.timedelta(days=1)
        return bars

    def _burndown(self, o: ObjectiveTerms, e: Evaluation | None) -> str:
        """Remaining budget over the open period, against the whole period's budget.

        The shape comes from the daily measurements; it is scaled so the last point
        matches the evaluation, which alone applies coverage and maintenance exactly.
        """
        assert self.current is not None
        row = self.current.row
        start, end = row.start, row.end
        title = f"{o.key}: error budget burn-down, {row.period}"
        if e is None or e.good + e.bad == 0:
            return charts.burndown_svg([], start=start, end=end, title=title)
        elapsed = max(min(self.now, end) - start, dt.timedelta(seconds=1))
        fraction = Decimal(elapsed / (end - start))
        allowed = (Decimal(100) - o.target) / 100
        full_budget = allowed * (e.good + e.bad) / fraction
        if full_budget <= 0:
            return charts.burndown_svg([], start=start, end=end, title=title)
        # Local datetimes, so the chart's date labels are the agreement's days.
        start, end = start.astimezone(self.zone), end.astimezone(self.zone)
        points: list[tuple[dt.datetime, Decimal | None]] = [(start, Decimal(100))]
        daily = self._daily_bad(o)
        local_days = sorted(d for d in daily if _local_day_start(d, self.zone) >= start)
        measured = sum((daily[d][1] for d in local_days), Decimal(0))
        scale = e.bad / measured if measured else Decimal(0)
        spent = Decimal(0)
        for d in local_days:
            day_end = min(_local_day_start(d + dt.timedelta(days=1), self.zone), self.now)
            day_end = day_end.astimezone(self.zone)
            spent += daily[d][1] * scale
            points.append((day_end, 100 - spent * 100 / full_budget))
        points.append((min(self.now, end).astimezone(self.zone), 100 - e.bad * 100 / full_budget))
        return charts.burndown_svg(points, start=start, end=end, title=title)

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

    # -- history --------------------------------------------------------------------------

    @cached_property
    def closed_periods(self) -> list[PeriodFigures]:
        return [p for p in self.periods if p.row.is_closed]

    # -- incidents ------------------------------------------------------------------------

    @cached_property
    def incidents(self) -> list[IncidentRow]:
        since = _local_day_start(self.history_start, self.zone)
        _, down = self._minutes
        rows = []
        for i in self.incidents_all:
            end = i.resolved_at or self.now
            if end < since:
                continue
            row = IncidentRow(i, span((end - i.started_at).total_seconds()))
            for o in self.terms.objectives if self.terms else ():
                if o.service != i.service.key or not o.kind.startswith("availability"):
                    continue
                covered = self._covered(o, (i.started_at, end))
                if o.kind == Kind.AVAILABILITY_PROBES:
                    ranges = engine.eligible_minute_ranges(covered)
                    counted = sum(
                        1 for m in down.get(o.service, ()) if any(a <= m < b for a, b in ranges)
                    )
                    row.counted.append(
                        f"{o.key}: {counted} min counted — probes found {counted} down "
                        "minute(s) in covered time during the incident"
                    )
                elif i.impact == Incident.Impact.OUTAGE:
                    seconds = engine.duration(covered).total_seconds()
                    row.counted.append(
                        f"{o.key}: {span(seconds)} counted — covered time inside the outage"
                        + (" (so far)" if i.resolved_at is None else "")
                    )
                else:
                    row.counted.append(f"{o.key}: not counted — degraded impact is shown only")
            if not row.counted:
                row.counted.append("not counted: no availability objective uses this service")
            rows.append(row)
        return rows

    @cached_property
    def incident_stats(self) -> list[PeriodStats]:
        out = []
        for p in self.periods:
            start, end = p.row.start, min(p.row.end, self.now)
            inside = [
                i
                for i in self.incidents_all
                if i.started_at < end and (i.resolved_at or self.now) > start
            ]
            outages = [i for i in inside if i.impact == Incident.Impact.OUTAGE]
            repairs = [
                (i.resolved_at - i.started_at).total_seconds() for i in inside if i.resolved_at
            ]
            down = engine.duration(
                engine.clip(
                    engine.union((i.started_at, i.resolved_at or self.now) for i in outages),
                    (start, end),
                )
            )
            up = max((end - start) - down, dt.timedelta(0))
            out.append(
                PeriodStats(
                    period=p.row.period,
                    outages=len(outages),
                    degraded=len(inside) - len(outages),
                    mttr=span(statistics.fmean(repairs)) if repairs else "—",
                    mtbf=span(up.total_seconds() / len(outages)) if outages else "no outage",
                )
            )
        return out

    # -- latency --------------------------------------------------------------------------

    @cached_property
    def latency(self) -> list[LatencyRow]:
        keys = {
            o.service
            for o in (self.terms.objectives if self.terms else ())
            if o.kind in ("latency", Kind.AVAILABILITY_PROBES)
        }
        if not keys:
            return []
        since = self.now - dt.timedelta(days=LATENCY_DAYS)
        samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for key, probe, latency in (
            ProbeResult.objects.filter(
                service__key__in=keys, ts__gte=since, ok=True, latency_ms__isnull=False
            )
            .order_by("service_id", "probe", "ts")
            .values_list("service__key", "probe", "latency_ms")
        ):
            samples[key][probe].append(float(latency or 0))
        rows = []
        for key in sorted(samples):
            values = sorted(v for series in samples[key].values() for v in series)
            steps = [abs(b - a) for series in samples[key].values() for a, b in pairwise(series)]
            rows.append(
                LatencyRow(
                    service=key,
                    samples=len(values),
                    p50=_rank(values, 50),
                    p95=_rank(values, 95),
                    p99=_rank(values, 99),
                    jitter=statistics.fmean(steps) if steps else 0.0,
                )
            )
        return rows

    # -- maintenance ----------------------------------------------------------------------

    @cached_property
    def maintenance(self) -> tuple[list[MaintenanceRow], list[MaintenanceRow]]:
        notice = self.terms.maintenance_notice_hours if self.terms else 0
        upcoming: list[MaintenanceRow] = []
        past: list[MaintenanceRow] = []
        for m in self.maintenance_all:
            excluded, reason = _maintenance_reason(m, notice)
            row = MaintenanceRow(m, excluded, reason, m.end > self.now)
            (upcoming if row.upcoming else past).append(row)
        past.reverse()
        return upcoming, past


def _rank(values: list[float], percentile: int) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return 0.0
    index = max(0, -(-percentile * len(values) // 100) - 1)
    return values[min(index, len(values) - 1)]


# --------------------------------------------------------------------------------------------
# Ledger and claims (never cached: they change with every claim and entry)
# --------------------------------------------------------------------------------------------


# The live reads of the agreement page run on every request: plain SQL of the columns the
# page shows spares the ORM compiling the same queries again each time, which cost more
# than running them. Instances come back with only these fields loaded; the page reads no
# other (the query-count tests would see a deferred field being loaded).
_LEDGER_SQL = """
    SELECT e.id, e.created_at, e.kind, e.amount, e.currency, e.reason, e.reference,
           p.period AS period_name
    FROM credits_ledgerentry e LEFT JOIN credits_period p ON p.id = e.period_id
    WHERE e.agreement_id = %s ORDER BY e.created_at DESC, e.id DESC"""
_CLAIMS_SQL = """
    SELECT c.id, c.revision, c.amount, c.currency, c.state, c.reason, c.claimed_by,
           c.claimed_at, c.claimable_until, p.period AS period_name
    FROM credits_claim c JOIN credits_period p ON p.id = c.period_id
    WHERE c.agreement_id = %s ORDER BY p.period DESC, c.revision DESC"""
_DOCUMENTS_SQL = """
    SELECT id, title, uploaded_at FROM agreements_agreementdocument
    WHERE agreement_id = %s ORDER BY title, id"""


def ledger_of(agreement: Agreement) -> tuple[list[LedgerEntry], Decimal]:
    entries = list(LedgerEntry.objects.raw(_LEDGER_SQL, [agreement.pk]))
    return entries, sum((e.amount for e in entries), Decimal("0.00"))


def claims_of(agreement: Agreement) -> list[Claim]:
    return list(Claim.objects.raw(_CLAIMS_SQL, [agreement.pk]))


def documents_of(agreement: Agreement) -> list[AgreementDocument]:
    return list(AgreementDocument.objects.raw(_DOCUMENTS_SQL, [agreement.pk]))


# --------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------


def _spells(minutes: Iterable[dt.datetime]) -> list[tuple[dt.datetime, dt.datetime, int]]:
    spells: list[list[Any]] = []
    for m in minutes:
        if spells and spells[-1][1] == m:
            spells[-1][1] = m + dt.timedelta(minutes=1)
            spells[-1][2] += 1
        else:
            spells.append([m, m + dt.timedelta(minutes=1), 1])
    return [(a, b, n) for a, b, n in spells]


def statement_for(agreement: Agreement, period: str) -> statements.Statement | None:
    """The statement of a closed period of ``agreement``, or None (open or unknown)."""
    row = (
        Period.objects.filter(agreement_id=agreement.pk, period=period, state=Period.State.CLOSED)
        .select_related("terms_version")
        .first()
    )
    if row is None:
        return None
    snapshot = row.terms_version.terms
    terms = terms_of(snapshot)
    zone = ZoneInfo(terms.timezone)
    evaluations = list(row.evaluations.filter(revision=row.revision).order_by("position"))
    by_key = {o.key: o for o in terms.objectives}
    fee = terms.monthly_fee
    lines = []
    for e in evaluations:
        o = by_key.get(e.objective_key)
        lines.append(
            statements.ObjectiveLine(
                key=e.objective_key,
                indicator=e.indicator,
                target=e.target,
                achieved=e.achieved,
                status=e.status,
                good=e.good,
                bad=e.bad,
                unit=e.unit,
                completeness=e.completeness,
                tiers=o.tiers if o else (),
                credit_percent=e.credit_percent,
                credit_amount=fee * e.credit_percent / 100,
            )
        )
    keys = {o.service for o in terms.objectives if o.service}
    window = (row.start, row.end)
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
    probe_keys = {o.service for o in terms.objectives if o.kind == Kind.AVAILABILITY_PROBES}
    down: dict[str, list[dt.datetime]] = defaultdict(list)
    if probe_keys:
        for key, minute in (
            ProbeMinute.objects.filter(
                service__key__in=probe_keys, minute__gte=row.start, minute__lt=row.end
            )
            .down()
            .order_by("minute")
            .values_list("service__key", "minute")
        ):
            down[key].append(minute)

    def local(t: dt.datetime) -> dt.datetime:
        return t.astimezone(zone)

    evidence: dict[str, statements.Evidence] = {}
    for o in terms.objectives:
        if not o.service:
            continue
        windows = [m for m in maintenance if m.service.key == o.service]
        covered = engine.covered_time(
            period=window,
            tz=terms.timezone,
            calendar=o.calendar,
            maintenance=[
                engine.Maintenance(start=m.start, end=m.end, announced_at=m.announced_at)
                for m in windows
            ],
            notice_hours=terms.maintenance_notice_hours,
        )
        spells: tuple[tuple[dt.datetime, dt.datetime, int], ...] = ()
        incident_rows: list[tuple[str, str, dt.datetime, dt.datetime | None, Decimal]] = []
        if o.kind.startswith("availability"):
            ranges = engine.eligible_minute_ranges(covered)
            counted_minutes = [
                m for m in down.get(o.service, []) if any(a <= m < b for a, b in ranges)
            ]
            spells = tuple((local(a), local(b), n) for a, b, n in _spells(counted_minutes))
            for i in incidents:
                if i.service.key != o.service:
                    continue
                end = min(i.resolved_at or row.end, row.end)
                inside = engine.intersect(covered, [(max(i.started_at, row.start), end)])
                if o.kind == Kind.AVAILABILITY_INCIDENTS:
                    seconds = (
                        Decimal(engine.duration(inside).total_seconds())
                        if i.impact == Incident.Impact.OUTAGE
                        else Decimal(0)
                    )
                else:
                    seconds = Decimal(
                        60 * sum(1 for m in counted_minutes if any(a <= m < b for a, b in inside))
                    )
                incident_rows.append(
                    (
                        i.title,
                        i.get_impact_display().lower(),
                        local(i.started_at),
                        local(i.resolved_at) if i.resolved_at else None,
                        seconds,
                    )
                )
        evidence[o.key] = statements.Evidence(
            down_spells=spells,
            incidents=tuple(incident_rows),
            maintenance=tuple(
                (
                    m.title,
                    local(m.start),
                    local(m.end),
                    *_maintenance_reason(m, terms.maintenance_notice_hours),
                )
                for m in windows
            ),
        )
    claim = Claim.objects.filter(period=row, revision=row.revision).order_by("-created_at").first()
    restated = [
        statements.Restatement(
            at=local(r.created_at),
            previous_amount=r.previous_amount,
            new_amount=r.new_amount,
            reason=r.reason,
        )
        for r in Restatement.objects.filter(period=row).order_by("to_revision")
    ]
    return statements.Statement(
        agreement_key=agreement.key,
        agreement_name=agreement.name,
        customer_name=agreement.customer.name,
        provider=agreement.provider or "—",
        period=row.period,
        timezone=terms.timezone,
        currency=agreement.currency,
        monthly_fee=fee,
        credit_cap_percent=terms.credit_cap_percent,
        terms_version=row.terms_version.number,
        terms_effective_period=row.terms_version.effective_period,
        closed_at=local(row.closed_at) if row.closed_at else None,
        objectives=tuple(lines),
        subtotal=sum((line.credit_amount for line in lines), Decimal(0)),
        cap_amount=fee * terms.credit_cap_percent / 100,
        credit_total=row.credit_amount or Decimal("0.00"),
        claim_status=(
            f"{claim.get_state_display()} ({claim.amount} {claim.currency})" if claim else ""
        ),
        evidence=evidence,
        restatements=tuple(restated),
    )
