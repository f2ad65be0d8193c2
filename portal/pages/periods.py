"""Periods with the evaluations of their current revision, and which one is current."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F

from agreements import display, engine
from agreements.engine import Status
from agreements.models import Agreement
from credits.budget import budget_shown
from credits.models import Evaluation, Period

_NO_BUDGET = Decimal("1e9")


@dataclass
class PeriodFigures:
    row: Period
    evaluations: list[Evaluation]

    @property
    def worst(self) -> Evaluation | None:
        """The evaluation with the worst status, least budget left first among equals."""
        return min(
            self.evaluations,
            key=lambda e: (Status(e.status).rank, budget_key(e)),
            default=None,
        )

    @property
    def status(self) -> Status:
        worst = self.worst
        return Status(worst.status) if worst else Status.NO_DATA


def budget_key(e: Evaluation) -> Decimal:
    """Sorts by the share of budget left; objectives without a budget last."""
    shown = budget_shown(e)
    if shown is None or shown.percent is None:
        return _NO_BUDGET
    return shown.percent


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
        e.target_text = display.plain(e.target)  # type: ignore[attr-defined]
        figures.evaluations.append(e)
    return {aid: list(periods.values()) for aid, periods in out.items()}


def current_of(
    periods: list[PeriodFigures], agreement: Agreement, now: dt.datetime
) -> PeriodFigures | None:
    """The period holding ``now``, else the latest one (an agreement that has ended)."""
    this = engine.period_id(now, agreement.timezone)
    for p in periods:
        if p.row.period == this:
            return p
    return periods[0] if periods else None
