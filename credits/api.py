"""Compliance and history of an agreement over the REST API (scope read)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements import engine
from agreements.api import scoped_agreements
from agreements.auth import HasScope
from agreements.models import Agreement
from credits.models import Evaluation, Period
from credits.services import recompute_agreement

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def objective_json(e: Evaluation) -> dict[str, Any]:
    return {
        "key": e.objective_key,
        "indicator": e.indicator,
        "target": _number(e.target),
        "achieved": _number(e.achieved),
        "status": e.status,
        "good": _number(e.good),
        "bad": _number(e.bad),
        "unit": e.unit,
        "completeness": _number(e.completeness),
        "budget_remaining_percent": _number(e.budget_remaining_percent),
        "budget": {
            "total": _number(e.budget_total),
            "spent": _number(e.budget_spent),
            "remaining": _number(e.budget_remaining),
        },
        "burn_rate_1h": _number(e.burn_rate_1h),
        "pending": e.pending,
        "credit_percent": _number(e.credit_percent),
    }


def period_json(agreement: Agreement, row: Period) -> dict[str, Any]:
    evaluations = [e for e in row.evaluations.all() if e.revision == row.revision]
    evaluations.sort(key=lambda e: e.position)
    body: dict[str, Any] = {
        "agreement": agreement.key,
        "period": row.period,
        "status": row.state,
        "start": row.start,
        "end": row.end,
        "closes_at": row.closes_at,
        "computed_at": row.computed_at,
        "terms_version": row.terms_version.number,
        "revision": row.revision,
        "objectives": [objective_json(e) for e in evaluations],
    }
    if row.is_closed:
        body["credit"] = {"amount": f"{row.credit_amount:.2f}", "currency": agreement.currency}
        body["closed_at"] = row.closed_at
        body["late_data"] = row.late_data
    else:
        from credits.forecast import forecast

        projection = forecast(
            agreement=agreement, period=row, evaluations=evaluations, now=timezone.now()
        )
        body["credit"] = {
            "amount": projection["if_closed_now"],
            "currency": agreement.currency,
            "final": False,
        }
        body["forecast"] = projection
    return body


class ComplianceView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="YYYY-MM (default: the current period)")
        ],
        responses={
            200: OpenApiResponse(description="figures of every objective in the period"),
            400: OpenApiResponse(description="bad period"),
            404: OpenApiResponse(description="unknown"),
        },
        tags=["compliance"],
    )
    def get(self, request: Request, key: str) -> Response:
        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        period = request.query_params.get("period") or engine.period_id(
            timezone.now(), agreement.timezone
        )
        if not PERIOD.match(period):
            return Response(
                {"error": f"period: {period!r} is not a period id like 2026-03"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        row = _period(agreement, period)
        if row is None:
            # Not evaluated yet (for example just imported): evaluate now if it has begun.
            recompute_agreement(agreement_id=agreement.pk, period=period)
            row = _period(agreement, period)
        if row is None:
            return Response(
                {
                    "error": f"period {period} is outside the agreement's effective dates "
                    "or has not begun"
                },
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(period_json(agreement, row))


def _period(agreement: Agreement, period: str) -> Period | None:
    return (
        Period.objects.filter(agreement=agreement, period=period)
        .select_related("terms_version")
        .prefetch_related("evaluations")
        .first()
    )


class ComplianceHistoryView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="first period, YYYY-MM"),
            OpenApiParameter("to", str, description="last period, YYYY-MM"),
        ],
        responses={200: OpenApiResponse(description="one row per closed period")},
        tags=["compliance"],
    )
    def get(self, request: Request, key: str) -> Response:
        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        rows = Period.objects.closed().filter(agreement=agreement).prefetch_related("evaluations")
        for name, lookup in (("from", "period__gte"), ("to", "period__lte")):
            value = request.query_params.get(name)
            if value:
                if not PERIOD.match(value):
                    return Response(
                        {"error": f"{name}: {value!r} is not a period id like 2026-03"},
                        status=status.HTTP_400_BAD_REQUEST,
                    )
                rows = rows.filter(**{lookup: value})
        out = []
        for row in rows.order_by("period"):
            evaluations = sorted(
                (e for e in row.evaluations.all() if e.revision == row.revision),
                key=lambda e: e.position,
            )
            out.append(
                {
                    "period": row.period,
                    "closed_at": row.closed_at,
                    "revision": row.revision,
                    "credit": {
                        "amount": f"{row.credit_amount:.2f}",
                        "currency": agreement.currency,
                    },
                    "objectives": [
                        {
                            "key": e.objective_key,
                            "target": _number(e.target),
                            "achieved": _number(e.achieved),
                            "status": e.status,
                            "met": e.status == "met",
                            "credit_percent": _number(e.credit_percent),
                        }
                        for e in evaluations
                    ],
                }
            )
        return Response({"agreement": agreement.key, "periods": out})
