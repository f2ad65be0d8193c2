"""The ticket clocks of an agreement over the REST API (SPEC §4, scope read)."""

from __future__ import annotations

import datetime as dt
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
from credits.api import PERIOD
from credits.tickets import ALL, OPEN, TicketLine, terms_for, ticket_lines


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _seconds(span: dt.timedelta) -> int | float:
    seconds = span.total_seconds()
    return int(seconds) if seconds == int(seconds) else seconds


def line_json(line: TicketLine) -> dict[str, Any]:
    """SPEC §4: one ticket under one ticket objective."""
    return {
        "external_id": line.external_id,
        "priority": line.priority,
        "objective": line.objective,
        "state": line.state,
        "elapsed_seconds": _seconds(line.elapsed),
        "paused": line.paused,
        "due_at": _iso(line.due_at),
    }


class TicketsView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state",
                str,
                enum=[OPEN, ALL],
                description="open (default): tickets whose measured end is still missing; "
                "all: every ticket of the period",
            ),
            OpenApiParameter(
                "period",
                str,
                description="YYYY-MM: only tickets opened in that period (default: for "
                "state=open every open ticket, for state=all the current period)",
            ),
        ],
        responses={
            200: OpenApiResponse(
                description='{"agreement", "period", "state", "tickets": [{"external_id", '
                '"priority", "objective", "state": "met"|"breached"|"pending", '
                '"elapsed_seconds", "paused", "due_at"}]} ordered by due time; due_at is when '
                "the threshold is reached if nothing pauses it (null while paused)"
            ),
            400: OpenApiResponse(description="bad state or period"),
            404: OpenApiResponse(description="unknown"),
        },
        tags=["compliance"],
    )
    def get(self, request: Request, key: str) -> Response:
        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        now = timezone.now()
        state = request.query_params.get("state") or OPEN
        if state not in (OPEN, ALL):
            return Response(
                {"error": f"state: {state[:40]!r} is not open or all"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        asked = request.query_params.get("period")
        period = asked or engine.period_id(now, agreement.timezone)
        if not PERIOD.fullmatch(period):
            return Response(
                {"error": f"period: {period[:40]!r} is not a period id like 2026-03"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        terms = terms_for(agreement, period)
        lines = (
            []
            if terms is None
            else ticket_lines(
                agreement=agreement,
                terms=terms,
                now=now,
                period=period,
                state=state,
                any_period=not asked,
            )
        )
        return Response(
            {
                "agreement": agreement.key,
                "period": period if asked or state == ALL else None,
                "state": state,
                "tickets": [line_json(line) for line in lines],
            }
        )
