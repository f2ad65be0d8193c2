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

from agreements import display, engine
from agreements.api import scoped_agreements
from agreements.auth import HasScope, ProviderOnly
from agreements.models import Agreement
from agreements.text import TextError, single_line
from credits import bounded
from credits.budget import budget_shown
from credits.models import Evaluation, Period
from credits.recompute import recompute_agreement
from credits.shown import bonus_json, combined_json

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
RESTATE_REASON_MAX_LENGTH = 400


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
        # As people read it on every page, statement and email (rule 19).
        "achieved_text": display.percent(e.achieved, e.target),
        "status": e.status,
        "good": _number(e.good),
        "bad": _number(e.bad),
        "unit": e.unit,
        "completeness": _number(e.completeness),
        "budget_remaining_percent": _number(e.budget_remaining_percent),
        # The budget as people read it on the page: whole units where units cannot be split.
        "budget_text": (shown.text if (shown := budget_shown(e)) is not None else "no data"),
        "budget": {
            "total": _number(e.budget_total),
            "spent": _number(e.budget_spent),
            "remaining": _number(e.budget_remaining),
        },
        "burn_rate_1h": _number(e.burn_rate_1h),
        "pending": e.pending,
        "credit_percent": _number(e.credit_percent),
        **combined_json(e),
        **bounded.api_fields(e),
    }


def current_evaluations(row: Period) -> list[Evaluation]:
    """The evaluations of the period's current revision, in the agreement's objective
    order (from the prefetched ``evaluations``)."""
    evaluations = [e for e in row.evaluations.all() if e.revision == row.revision]
    evaluations.sort(key=lambda e: e.position)
    return evaluations


def period_json(agreement: Agreement, row: Period) -> dict[str, Any]:
    evaluations = current_evaluations(row)
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
    body["bonus"] = bonus_json(agreement, row, evaluations)
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
            200: OpenApiResponse(
                description="figures of every objective in the period; beside `credit`, "
                '`bonus` `{"amount", "currency"}` (rule 12, earned by the provider, never '
                "netted into the credit); per objective `bonus_percent`, and for an "
                "objective over several services `attribution` `[{service, name, provider, "
                "bad, unit}]` with `attribution_text` (rule 18)"
            ),
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
        if not PERIOD.fullmatch(period):
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
                if not PERIOD.fullmatch(value):
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
                    "bonus": bonus_json(agreement, row, evaluations),
                    "objectives": [
                        {
                            "key": e.objective_key,
                            "target": _number(e.target),
                            "achieved": _number(e.achieved),
                            "status": e.status,
                            "met": e.status == engine.Status.MET,
                            "credit_percent": _number(e.credit_percent),
                        }
                        for e in evaluations
                    ],
                }
            )
        return Response({"agreement": agreement.key, "periods": out})


# Ledger, claims and restatements -------------------------------------------------------


def entry_json(e: Any) -> dict[str, Any]:
    return {
        "id": e.pk,
        "kind": e.kind,
        "amount": f"{e.amount:.2f}",
        "currency": e.currency,
        "period": e.period.period if e.period_id else None,
        "revision": e.revision,
        "created_at": e.created_at,
        "created_by": e.created_by,
        "reason": e.reason,
        "reference": e.reference,
    }


def claim_json(c: Any) -> dict[str, Any]:
    return {
        "id": c.pk,
        "period": c.period.period,
        "revision": c.revision,
        "amount": f"{c.amount:.2f}",
        "currency": c.currency,
        "state": c.state,
        "claimable_until": c.claimable_until,
        "claimed_at": c.claimed_at,
        "claimed_by": c.claimed_by,
        "decided_at": c.decided_at,
        "reason": c.reason,
    }


class LedgerView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"
    max_page_size = 200

    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: OpenApiResponse(description='{"balance", "currency", "entries": [...]}')},
        tags=["credits"],
    )
    def get(self, request: Request, key: str) -> Response:
        from credits.ledger import balance
        from credits.models import LedgerEntry

        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        try:
            page = int(request.query_params.get("page", "1"))
            size = int(request.query_params.get("page_size", "50"))
        except ValueError:
            return Response({"error": "page and page_size must be whole numbers"}, status=400)
        if page < 1 or not 1 <= size <= self.max_page_size:
            return Response(
                {"error": f"page must be >= 1 and page_size between 1 and {self.max_page_size}"},
                status=400,
            )
        entries = (
            LedgerEntry.objects.filter(agreement=agreement)
            .select_related("period")
            .order_by("-created_at", "-id")
        )
        count = entries.count()
        # A page past the end is empty; its offset is never sent to the database, where
        # a huge one would not fit the integer type.
        chosen = list(entries[(page - 1) * size : page * size]) if (page - 1) * size < count else []
        base = request.build_absolute_uri(request.path)
        return Response(
            {
                "agreement": agreement.key,
                "balance": f"{balance(agreement):.2f}",
                "currency": agreement.currency,
                "count": count,
                "next": f"{base}?page={page + 1}&page_size={size}" if page * size < count else None,
                "previous": f"{base}?page={page - 1}&page_size={size}" if page > 1 else None,
                "entries": [entry_json(e) for e in chosen],
            }
        )


class LedgerCsvView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(description="the whole ledger")},
        tags=["credits"],
    )
    def get(self, request: Request, key: str) -> Any:
        import csv
        import io

        from django.http import HttpResponse

        from credits.models import LedgerEntry

        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "id",
                "created_at",
                "kind",
                "amount",
                "currency",
                "period",
                "revision",
                "created_by",
                "reason",
                "reference",
                "balance_after",
            ]
        )
        running = Decimal(0)
        for e in (
            LedgerEntry.objects.filter(agreement=agreement)
            .select_related("period")
            .order_by("created_at", "id")
        ):
            running += e.amount
            writer.writerow(
                [
                    e.pk,
                    e.created_at.isoformat(),
                    e.kind,
                    f"{e.amount:.2f}",
                    e.currency,
                    e.period.period if e.period is not None else "",
                    e.revision or "",
                    _safe(e.created_by),
                    _safe(e.reason),
                    _safe(e.reference),
                    f"{running:.2f}",
                ]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{agreement.key}-ledger.csv"'
        return response


def _safe(text: str) -> str:
    """No spreadsheet formula injection from free text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class ClaimsView(APIView):
    permission_classes = [HasScope]
    scope_by_method = {"GET": "read", "POST": "write"}

    @extend_schema(
        responses={200: OpenApiResponse(description='{"claims": [...]}')}, tags=["credits"]
    )
    def get(self, request: Request, key: str) -> Response:
        from credits.models import Claim

        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        claims = (
            Claim.objects.filter(agreement=agreement)
            .select_related("period")
            .order_by("-created_at")
        )
        return Response({"agreement": agreement.key, "claims": [claim_json(c) for c in claims]})

    @extend_schema(
        request={
            "application/json": {"type": "object", "properties": {"period": {"type": "string"}}}
        },
        responses={
            201: OpenApiResponse(description="the claim, now claimed"),
            400: OpenApiResponse(description="nothing claimable, window passed, ..."),
        },
        tags=["credits"],
    )
    def post(self, request: Request, key: str) -> Response:
        from credits.claims import claim_submit
        from credits.ledger import LedgerError
        from credits.models import Claim

        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        period = request.data.get("period") if isinstance(request.data, dict) else None
        if not isinstance(period, str) or not PERIOD.fullmatch(period):
            return Response(
                {"error": "period: give the period id of the credit, like 2026-03"}, status=400
            )
        claim = (
            Claim.objects.filter(agreement=agreement, period__period=period)
            .order_by("-revision")
            .first()
        )
        if claim is None:
            return Response({"error": f"period: {period} has no claimable credit"}, status=400)
        try:
            claim = claim_submit(claim_id=claim.pk, actor=str(request.user), now=timezone.now())
        except LedgerError as error:
            return Response({"error": f"period: {error}"}, status=400)
        return Response(claim_json(claim), status=status.HTTP_201_CREATED)


class RestateView(APIView):
    permission_classes = [HasScope, ProviderOnly]
    required_scope = "write"

    @extend_schema(
        request={
            "application/json": {"type": "object", "properties": {"reason": {"type": "string"}}}
        },
        responses={200: OpenApiResponse(description="the period's restated figures")},
        tags=["credits"],
        description="Re-evaluate a closed period (provider keys only, not customer-bound ones).",
    )
    def post(self, request: Request, key: str, period: str) -> Response:
        from credits.restatement import RestateError, restate_period

        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        row = get_object_or_404(Period, agreement=agreement, period=period)
        reason = request.data.get("reason") if isinstance(request.data, dict) else None
        if reason is None:
            return Response({"error": "reason: is required"}, status=400)
        try:
            # The ledger entries quote it after "restatement of YYYY-MM: " in 500 characters.
            reason = single_line(reason, "reason", max_length=RESTATE_REASON_MAX_LENGTH)
        except TextError as error:
            return Response({"error": str(error)}, status=400)
        try:
            row = restate_period(
                period_id=row.pk, actor=str(request.user), reason=reason, now=timezone.now()
            )
        except RestateError as error:
            return Response({"error": str(error)}, status=400)
        fresh = _period(agreement, row.period)
        assert fresh is not None
        return Response(period_json(agreement, fresh))
