"""Contract-life endpoints (SPEC §4, scope ``write``): notice, amendments, decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements.api import scoped_agreements
from agreements.auth import HasScope, ProviderOnly
from agreements.document import DocumentError
from agreements.models import ApiKey
from contracts.models import Amendment
from contracts.services import ContractError, amendment_decide, amendment_propose, notice_give


def _body(request: Request) -> dict[str, Any] | None:
    return request.data if isinstance(request.data, dict) else None


def _refused(error: ContractError | DocumentError) -> Response:
    if isinstance(error, DocumentError):
        return Response({"error": str(error), "errors": error.as_list()}, status=400)
    return Response({"error": str(error), "field": error.field}, status=400)


def _not_object() -> Response:
    return Response({"error": "body: must be a JSON object"}, status=400)


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ContractError("end_on", "must be a date in the form YYYY-MM-DD")


class NoticeView(APIView):
    permission_classes = [HasScope]
    required_scope = "write"

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "required": ["by"],
                "properties": {
                    "by": {"type": "string", "enum": ["customer", "provider"]},
                    "reason": {"type": "string"},
                    "end_on": {"type": "string", "format": "date"},
                },
            }
        },
        responses={201: OpenApiResponse(description='{"effective_to": "YYYY-MM-DD"}')},
        tags=["agreements"],
        description="Give notice of termination (rule 20). A customer-bound key gives the "
        "customer's notice, for its own customer only.",
    )
    def post(self, request: Request, key: str) -> Response:
        api_key: ApiKey = request.auth  # type: ignore[assignment]
        agreement = get_object_or_404(scoped_agreements(api_key), key=key)
        body = _body(request)
        if body is None:
            return _not_object()
        by = body.get("by")
        if api_key.customer_id is not None and by == "provider":
            return Response(
                {"error": "by: a key bound to the customer gives the customer's notice"},
                status=403,
            )
        try:
            notice = notice_give(
                agreement=agreement,
                by=by if isinstance(by, str) else "",
                reason=body.get("reason") or "",
                end_on=_date(body.get("end_on")),
                actor=str(request.user),
            )
        except ContractError as error:
            return _refused(error)
        return Response({"effective_to": notice.end_on.isoformat()}, status=201)


class AmendmentsView(APIView):
    permission_classes = [HasScope, ProviderOnly]
    required_scope = "write"

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "required": ["document", "effective_period", "note"],
                "properties": {
                    "document": {"type": "object"},
                    "effective_period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                    "note": {"type": "string"},
                },
            }
        },
        responses={201: OpenApiResponse(description='{"id": n, "status": "proposed"}')},
        tags=["agreements"],
        description="Propose new terms (provider keys only); they apply from the named "
        "period once the customer accepts (rule 20).",
    )
    def post(self, request: Request, key: str) -> Response:
        agreement = get_object_or_404(scoped_agreements(request.auth), key=key)  # type: ignore[arg-type]
        body = _body(request)
        if body is None:
            return _not_object()
        if body.get("document") is None:
            return Response({"error": "document: is required", "field": "document"}, status=400)
        try:
            amendment = amendment_propose(
                agreement=agreement,
                document=body["document"],
                effective_period=body.get("effective_period"),
                note=body.get("note"),
                actor=str(request.user),
            )
        except (ContractError, DocumentError) as error:
            return _refused(error)
        return Response({"id": amendment.pk, "status": amendment.status}, status=201)


class AmendmentDecisionView(APIView):
    """Accept or reject (``accept`` set per route): the customer's, never the provider's."""

    permission_classes = [HasScope]
    required_scope = "write"
    accept = True

    @extend_schema(
        request={
            "application/json": {"type": "object", "properties": {"note": {"type": "string"}}}
        },
        responses={200: OpenApiResponse(description='{"id": n, "status": "accepted"|"rejected"}')},
        tags=["agreements"],
        description="The customer accepts or rejects a proposed amendment (a key bound to "
        "the customer).",
    )
    def post(self, request: Request, key: str, pk: int) -> Response:
        api_key: ApiKey = request.auth  # type: ignore[assignment]
        agreement = get_object_or_404(scoped_agreements(api_key), key=key)
        amendment = get_object_or_404(Amendment, agreement=agreement, pk=pk)
        if api_key.customer_id is None:
            return Response(
                {
                    "error": "an amendment is accepted or rejected by the customer, with a key "
                    "bound to it or by its manager in the portal"
                },
                status=403,
            )
        body = _body(request) if request.data else {}
        if body is None:
            return _not_object()
        try:
            amendment = amendment_decide(
                amendment=amendment,
                accept=self.accept,
                actor=str(request.user),
                note=body.get("note") or "",
            )
        except (ContractError, DocumentError) as error:
            return _refused(error)
        return Response({"id": amendment.pk, "status": amendment.status})
