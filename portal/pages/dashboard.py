"""The dashboard: each agreement's current period, money owed and open incidents."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from agreements.engine import Status
from agreements.models import Agreement
from credits.budget import Budget, budget_shown
from credits.models import Claim, Evaluation, LedgerEntry
from credits.terms import terms_of
from metrics.models import Incident
from portal.pages.periods import PeriodFigures, budget_key, current_of, periods_of


@dataclass
class AgreementSummary:
    agreement: Agreement
    period: PeriodFigures | None
    balance: Decimal
    claimable: Decimal
    open_incidents: int

    @property
    def status(self) -> Status:
        return self.period.status if self.period else Status.NO_DATA

    @property
    def worst(self) -> Evaluation | None:
        return self.period.worst if self.period else None


@dataclass
class BudgetRow:
    agreement: Agreement
    period: str
    evaluation: Evaluation

    @property
    def budget(self) -> Budget | None:
        return budget_shown(self.evaluation)


def dashboard(agreements: list[Agreement], now: dt.datetime) -> list[AgreementSummary]:
    """Each agreement's current period, money owed and open incidents (4 queries)."""
    ids = [a.pk for a in agreements]
    periods = periods_of(ids)
    balances = _totals(LedgerEntry.objects.filter(agreement_id__in=ids))
    claimable = _totals(Claim.objects.filter(agreement_id__in=ids, state=Claim.State.CLAIMABLE))
    services = _services_of(agreements, periods)
    open_by_service = _open_incidents(set().union(*services.values()) if services else set())
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


def _totals(rows: QuerySet[Any]) -> dict[int, Decimal]:
    """Σ amount per agreement of a ledger or claim queryset (one query)."""
    return dict(rows.values_list("agreement_id").annotate(total=Sum("amount")))


def _services_of(
    agreements: list[Agreement], periods: dict[int, list[PeriodFigures]]
) -> dict[int, set[str]]:
    """The services named by the terms of each agreement's latest period."""
    services: dict[int, set[str]] = defaultdict(set)
    for a in agreements:
        for p in periods.get(a.pk, [])[:1]:
            for o in terms_of(p.row.terms_version.terms).objectives:
                if o.service:
                    services[a.pk].add(o.service)
    return services


def _open_incidents(keys: set[str]) -> dict[str, int]:
    """Unresolved incidents per service key (one query, none without keys)."""
    counts: dict[str, int] = defaultdict(int)
    if keys:
        for key in Incident.objects.filter(
            service__key__in=keys, resolved_at__isnull=True
        ).values_list("service__key", flat=True):
            counts[key] += 1
    return counts


def budget_overview(summaries: list[AgreementSummary]) -> list[BudgetRow]:
    """Every objective of every current period, least error budget left first (staff)."""
    rows = [
        BudgetRow(s.agreement, s.period.row.period, e)
        for s in summaries
        if s.period is not None
        for e in s.period.evaluations
    ]
    rows.sort(key=lambda r: (budget_key(r.evaluation), Status(r.evaluation.status).rank))
    return rows
