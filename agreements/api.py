"""REST API of agreements: read (scope read), import (scope write), and the error format."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from agreements.auth import HasScope, ProviderOnly
from agreements.document import DocumentError
from agreements.models import Agreement, ApiKey
from agreements.parsers import SafeJSONParser, YAMLAliasParser, YAMLParser, YAMLTextParser
from agreements.serializers import (
    AgreementDetailSerializer,
    AgreementSerializer,
    ImportResultSerializer,
)
from agreements.services import agreement_import

log = logging.getLogger(__name__)


def body_too_large_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"the request body is larger than {limit / (1024 * 1024):g} MB"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as JSON ``{"error": "...", ...}`` with the right status."""
    if isinstance(exc, DocumentError):
        return Response(
            {"error": "invalid agreement document", "errors": exc.as_list()},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": body_too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        response.data = {"error": str(detail["detail"])}
    elif isinstance(detail, dict) and "error" not in detail:
        response.data = {"error": "invalid request", "errors": detail}
    elif isinstance(detail, list):
        response.data = {"error": "; ".join(str(d) for d in detail)}
    return response


def scoped_agreements(key: ApiKey) -> QuerySet[Agreement]:
    """Scope first, then fetch: a customer-bound key sees only its customer's agreements."""
    queryset = Agreement.objects.select_related("customer")
    if key.customer_id is not None:
        queryset = queryset.filter(customer_id=key.customer_id)
    return queryset


class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Agreements visible to the key, with their current terms; written by the provider."""

    permission_classes = [HasScope, ProviderOnly]
    scope_by_method = {"GET": "read", "HEAD": "read", "OPTIONS": "read", "POST": "write"}
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9][a-z0-9_-]*"

    def get_queryset(self) -> QuerySet[Agreement]:
        queryset = scoped_agreements(self.request.auth)  # type: ignore[arg-type]
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                "objectives__tiers",
                "objectives__service",
                "objectives__calendar",
                "calendars__ranges",
                "calendars__holidays",
                "escalation",
                "versions",
            )
        return queryset.order_by("key")

    def get_serializer_class(self) -> type:
        return AgreementDetailSerializer if self.action == "retrieve" else AgreementSerializer

    parser_classes = [SafeJSONParser, YAMLParser, YAMLAliasParser, YAMLTextParser]

    @extend_schema(
        request={
            "application/json": {"type": "object"},
            "application/yaml": {"type": "string", "description": "the document as YAML"},
        },
        responses={
            201: ImportResultSerializer,
            200: ImportResultSerializer,
            400: OpenApiResponse(description="invalid document; errors name each field"),
            403: OpenApiResponse(description="a key bound to a customer, or lacking write"),
        },
        description="Create or update an agreement from its document (SPEC §2). "
        "Changing objectives or credit terms appends a new terms version. "
        "Provider keys only: a key bound to a customer gets 403.",
    )
    def create(self, request: Request) -> Response:
        result = agreement_import(data=request.data, actor=str(request.user), api_key=request.auth)  # type: ignore[arg-type]
        body = ImportResultSerializer(result).data
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class ApiRootView(APIView):
    permission_classes: list[Any] = []
    authentication_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"schema": "/api/schema/", "docs": "/api/docs/", "version": "v1"})
