"""``GET /metrics``: the open period's figures in the Prometheus text format (SPEC §4).

Built with ``prometheus_client``: a collector over the stored evaluations, in a registry
made for the request, so nothing global holds one caller's figures. Per agreement and
objective of the open period (labels ``agreement``, ``customer``, ``objective``):

- ``sla_objective_achieved`` and ``sla_objective_target``: percent, as the compliance API
  gives them (no sample while nothing is measured)
- ``sla_error_budget_remaining_ratio``: ``budget_remaining_percent`` / 100
- ``sla_objective_status{status=...}``: one series per status word, 1 for the current one

and per agreement ``sla_period_credit_amount{currency=...}``: the credit the period would
enter if it closed now (the compliance API's ``credit.amount``), and beside it
``sla_period_bonus_amount{currency=...}``: the bonus the provider has earned so far
(rule 12, the compliance API's ``bonus.amount``; never netted into the credit).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from rest_framework.request import Request
from rest_framework.views import APIView

from agreements import engine
from agreements.api import scoped_agreements
from agreements.auth import HasScope
from agreements.models import ApiKey
from credits.api import current_evaluations
from credits.forecast import credit_if_closed_now
from credits.models import Evaluation, Period
from credits.shown import bonus_amount

OBJECTIVE_LABELS = ["agreement", "customer", "objective"]


def open_periods(key: ApiKey) -> list[Period]:
    """The open period of each agreement the key may read (the latest one that has
    begun, when the previous month still waits for its close), with its evaluations and
    terms version; a constant number of queries."""
    now = timezone.now()
    rows = (
        Period.objects.open()
        .filter(agreement__in=scoped_agreements(key), start__lte=now)
        .select_related("agreement__customer", "terms_version")
        .prefetch_related(Prefetch("evaluations", queryset=Evaluation.objects.all()))
        .order_by("agreement__key", "-period")
    )
    latest: dict[int, Period] = {}
    for row in rows:
        latest.setdefault(row.agreement_id, row)
    return list(latest.values())


class SlaCollector:
    """The figures of ``periods`` as Prometheus metric families."""

    def __init__(self, periods: list[Period]):
        self.periods = periods

    def collect(self) -> Iterator[Metric]:
        achieved = GaugeMetricFamily(
            "sla_objective_achieved",
            "Achieved figure of the objective in the open period, percent",
            labels=OBJECTIVE_LABELS,
        )
        target = GaugeMetricFamily(
            "sla_objective_target", "Target of the objective, percent", labels=OBJECTIVE_LABELS
        )
        budget = GaugeMetricFamily(
            "sla_error_budget_remaining_ratio",
            "Share of the objective's error budget left in the open period (1 = untouched)",
            labels=OBJECTIVE_LABELS,
        )
        state = GaugeMetricFamily(
            "sla_objective_status",
            "Status of the objective in the open period: 1 for the current status word",
            labels=[*OBJECTIVE_LABELS, "status"],
        )
        credit = GaugeMetricFamily(
            "sla_period_credit_amount",
            "Credit the open period would enter if it closed now, in the agreement's currency",
            labels=["agreement", "customer", "currency"],
        )
        bonus = GaugeMetricFamily(
            "sla_period_bonus_amount",
            "Bonus the provider has earned in the open period so far (rule 12), in the "
            "agreement's currency; not netted into the credit",
            labels=["agreement", "customer", "currency"],
        )
        for row in self.periods:
            agreement = row.agreement
            evaluations = current_evaluations(row)
            for e in evaluations:
                labels = [agreement.key, agreement.customer.key, e.objective_key]
                target.add_metric(labels, float(e.target))
                if e.achieved is not None:
                    achieved.add_metric(labels, float(e.achieved))
                if e.budget_remaining_percent is not None:
                    budget.add_metric(labels, float(e.budget_remaining_percent / Decimal(100)))
                for word in engine.Status:
                    state.add_metric([*labels, word.value], 1.0 if e.status == word else 0.0)
            amount = credit_if_closed_now(period=row, evaluations=evaluations)
            per_agreement = [agreement.key, agreement.customer.key, agreement.currency]
            credit.add_metric(per_agreement, float(amount))
            bonus.add_metric(per_agreement, float(bonus_amount(row, evaluations)))
        yield from (achieved, target, budget, state, credit, bonus)


def exposition(key: ApiKey) -> bytes:
    """The text exposition of what ``key`` may read."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SlaCollector(open_periods(key)))  # type: ignore[arg-type]
    return generate_latest(registry)


class MetricsView(APIView):
    """Prometheus scrapes this with a read key (``authorization: credentials``)."""

    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={
            200: OpenApiResponse(description="Prometheus text format"),
            401: OpenApiResponse(description="no key"),
            403: OpenApiResponse(description="the key lacks the read scope"),
        },
        tags=["compliance"],
    )
    def get(self, request: Request) -> Any:
        return HttpResponse(exposition(request.auth), content_type=CONTENT_TYPE_LATEST)  # type: ignore[arg-type]
