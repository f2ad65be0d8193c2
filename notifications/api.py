"""Webhooks and escalations over the REST API.

Scope first, then fetch: a customer-bound key sees and changes only its customer's
webhooks and escalations; anything else is a 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements.auth import HasScope
from agreements.models import ApiKey
from notifications.models import Escalation, WebhookEndpoint
from notifications.serializers import (
    EscalationSerializer,
    WebhookCreatedSerializer,
    WebhookInSerializer,
    WebhookSerializer,
)
from notifications.services.escalation import escalation_acknowledge
from notifications.services.webhook_deliveries import webhook_register


def _bad_request(errors: dict[str, Any]) -> Response:
    """400 whose message names the first field at fault, e.g. ``url: scheme must be ...``."""
    field, messages = next(iter(errors.items()))
    first = messages[0] if isinstance(messages, list) else messages
    text = str(first) if str(first).startswith(f"{field}") else f"{field}: {first}"
    if field == "non_field_errors":
        text = str(first)
    return Response({"error": text, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def scoped_webhooks(key: ApiKey) -> QuerySet[WebhookEndpoint]:
    queryset = WebhookEndpoint.objects.select_related("customer")
    if key.customer_id is not None:
        queryset = queryset.filter(customer_id=key.customer_id)
    return queryset.order_by("id")


def scoped_escalations(key: ApiKey) -> QuerySet[Escalation]:
    queryset = Escalation.objects.select_related("agreement")
    if key.customer_id is not None:
        queryset = queryset.filter(agreement__customer_id=key.customer_id)
    return queryset


class WebhooksView(APIView):
    permission_classes = [HasScope]
    scope_by_method = {"GET": "read", "HEAD": "read", "OPTIONS": "read", "POST": "write"}

    @extend_schema(responses=WebhookSerializer(many=True), description="Registered webhooks.")
    def get(self, request: Request) -> Response:
        rows = scoped_webhooks(request.auth)  # type: ignore[arg-type]
        return Response(WebhookSerializer(rows, many=True).data)

    @extend_schema(
        request=WebhookInSerializer,
        responses={
            201: WebhookCreatedSerializer,
            400: OpenApiResponse(description="invalid field; the message names it"),
        },
        description="Register a webhook endpoint: `{url, events}` (plus `customer` for a key "
        "not bound to one). The secret that signs deliveries is returned once.",
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            return _bad_request({"non_field_errors": ["expected a JSON object"]})
        serializer = WebhookInSerializer(data=request.data, context={"api_key": request.auth})
        if not serializer.is_valid():
            return _bad_request(serializer.errors)
        data = serializer.validated_data
        endpoint = webhook_register(
            customer=data["customer"],
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
            actor=str(request.user),
        )
        body = WebhookCreatedSerializer({"id": endpoint.pk, "secret": endpoint.secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    permission_classes = [HasScope]
    scope_by_method = {"GET": "read", "HEAD": "read", "OPTIONS": "read", "DELETE": "write"}

    @extend_schema(responses=WebhookSerializer)
    def get(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(scoped_webhooks(request.auth), pk=pk)  # type: ignore[arg-type]
        return Response(WebhookSerializer(endpoint).data)

    @extend_schema(responses={204: None}, description="Remove a webhook endpoint.")
    def delete(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(scoped_webhooks(request.auth), pk=pk)  # type: ignore[arg-type]
        endpoint.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class EscalationsView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses=EscalationSerializer(many=True),
        description="Escalations not resolved yet (open or acknowledged), newest first.",
    )
    def get(self, request: Request) -> Response:
        rows = scoped_escalations(request.auth).filter(resolved_at__isnull=True)[:200]  # type: ignore[arg-type]
        return Response(EscalationSerializer(rows, many=True).data)


class EscalationAckView(APIView):
    permission_classes = [HasScope]
    required_scope = "write"

    @extend_schema(
        request=None,
        responses=EscalationSerializer,
        description="Acknowledge an escalation: no further level is told.",
    )
    def post(self, request: Request, pk: int) -> Response:
        escalation = get_object_or_404(scoped_escalations(request.auth), pk=pk)  # type: ignore[arg-type]
        escalation = escalation_acknowledge(
            escalation_id=escalation.pk,
            actor=str(request.user),
            via=Escalation.Via.API,
            now=timezone.now(),
        )
        return Response(EscalationSerializer(escalation).data)
