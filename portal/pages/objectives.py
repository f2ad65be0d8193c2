"""The objective cards of the agreement page: figures, error budget and burn-down."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from agreements import display
from agreements.engine import Status
from credits import bounded
from credits.budget import Budget, budget_shown
from credits.daily import DayFigures, local_day_start
from credits.models import Evaluation, Period
from credits.terms import ObjectiveTerms
from portal import charts
from portal.pages.terms import tier_sentences


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
        return display.plain(self.terms.target)

    @property
    def tier_sentences(self) -> list[str]:
        return tier_sentences(self.terms)

    @property
    def achieved_text(self) -> str:
        e = self.evaluation
        return bounded.achieved_text(e) if e else display.percent(None)

    @property
    def bound_text(self) -> str:
        """A further form's bound with its unit (rules 15-17), "" for a percent target."""
        return bounded.bound_text(self.terms)

    @property
    def commitment_text(self) -> str:
        """ "required 230 = 200 + 30 carried from October" for a volume commitment."""
        return bounded.commitment_text(self.evaluation) if self.evaluation else ""

    @property
    def completeness_text(self) -> str:
        if self.evaluation is None or self.evaluation.completeness is None:
            return "not applicable"
        return display.percent(self.evaluation.completeness)

    @property
    def counts_text(self) -> str:
        """Good and bad units: whole counts, or durations for seconds."""
        e = self.evaluation
        if e is None:
            return "—"
        if e.unit == "seconds":
            text = f"{display.duration(e.good)} / {display.duration(e.bad)}"
        else:
            text = f"{display.count(e.good)} / {display.count(e.bad, e.unit)}"
        return f"{text} ({e.pending} pending)" if e.pending else text

    @property
    def attribution_text(self) -> str:
        """Rule 18: the bad time of an objective over several services, by service and
        supplier; empty for an objective over one service, or without bad time."""
        e = self.evaluation
        if e is None or not e.attribution or not e.bad:
            return ""
        return display.attribution(e.attribution, e.unit)

    @property
    def bonus_text(self) -> str:
        """Rule 12: the bonus percent the provider earns so far (or at close); empty
        when none."""
        e = self.evaluation
        if e is None or not e.bonus_percent:
            return ""
        return f"{display.plain(e.bonus_percent)}% of the monthly fee, earned by the provider"

    @property
    def budget(self) -> Budget | None:
        return budget_shown(self.evaluation)

    @property
    def budget_text(self) -> str:
        shown = self.budget
        return "no data" if shown is None else shown.text

    @property
    def status(self) -> Status:
        return Status(self.evaluation.status) if self.evaluation else Status.NO_DATA


def burndown(
    o: ObjectiveTerms,
    e: Evaluation | None,
    row: Period,
    daily: dict[dt.date, DayFigures],
    *,
    now: dt.datetime,
    zone: ZoneInfo,
) -> str:
    """Remaining budget over the open period ``row``, against the whole period's budget.

    The budget is the card's (``budget_shown``); the shape comes from the daily figures,
    scaled so the last point matches the evaluation, which alone applies coverage and
    maintenance exactly.
    """
    start, end = row.start, row.end
    title = f"{o.key}: error budget burn-down, {row.period}"
    shown = budget_shown(e)
    if e is None or shown is None or shown.total <= 0:
        return charts.burndown_svg([], start=start, end=end, title=title)
    # The card's one budget figure: the chart ends where the gauge and the words are.
    full_budget = shown.total
    # Local datetimes, so the chart's date labels are the agreement's days.
    start, end = start.astimezone(zone), end.astimezone(zone)
    points: list[tuple[dt.datetime, Decimal | None]] = [(start, Decimal(100))]
    days = sorted(d for d in daily if local_day_start(d, zone) >= start)
    measured = sum((daily[d][1] for d in days), Decimal(0))
    scale = e.bad / measured if measured else Decimal(0)
    spent = Decimal(0)
    for d in days:
        day_end = min(local_day_start(d + dt.timedelta(days=1), zone), now).astimezone(zone)
        spent += daily[d][1] * scale
        points.append((day_end, 100 - spent * 100 / full_budget))
    points.append((min(now, end).astimezone(zone), 100 - e.bad * 100 / full_budget))
    return charts.burndown_svg(points, start=start, end=end, title=title)
