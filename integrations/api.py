"""Inbound webhooks of monitoring tools (SPEC §4, Integrations), one endpoint per tool.

Each takes the tool's own body unchanged. The caller is a Bearer API key with the
``ingest`` scope, or, for a tool that signs its deliveries (PagerDuty), a valid
signature under the secret of one of its integrations. Every delivery, refused ones
included, is logged for staff.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements.models import ApiKey
from integrations import jira, pagerduty, zendesk
from integrations.models import Integration
from integrations.services import delivery_handle, delivery_record
from metrics.api import _RawParser

SIGNATURE_HEADERS = {
    Integration.Kind.PAGERDUTY: ("HTTP_X_PAGERDUTY_SIGNATURE", "X-PagerDuty-Signature"),
    Integration.Kind.JIRA: ("HTTP_X_HUB_SIGNATURE", "X-Hub-Signature"),
    Integration.Kind.ZENDESK: ("HTTP_X_ZENDESK_WEBHOOK_SIGNATURE", "X-Zendesk-Webhook-Signature"),
}
TOOL_NAMES = {
    Integration.Kind.PAGERDUTY: "PagerDuty",
    Integration.Kind.JIRA: "Jira",
    Integration.Kind.ZENDESK: "Zendesk",
}


def _signature_valid(kind: str, request: Request, body: bytes, secrets: list[str]) -> bool:
    header = request.META.get(SIGNATURE_HEADERS[kind][0], "")  # type: ignore[index]
    if kind == Integration.Kind.JIRA:
        return jira.signature_valid(body, header, secrets)
    if kind == Integration.Kind.ZENDESK:
        stamp = request.META.get("HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP", "")
        return zendesk.signature_valid(body, header, stamp, secrets)
    return pagerduty.signature_valid(body, header, secrets)


class WebhookView(APIView):
    permission_classes: list[Any] = []  # checked in post(): a key or a signature
    parser_classes = [_RawParser]
    kind = ""

    def post(self, request: Request) -> Response:
        body = request._request.body
        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is not None:
            if not key.has_scope("ingest"):
                raise exceptions.PermissionDenied("this API key lacks the 'ingest' scope")
            integration = self._named_integration(request)
        else:
            integration = self._signed_integration(request, body)
        source = key.name if key else integration.name if integration else ""
        outcome = delivery_handle(
            kind=self.kind, body=body, integration=integration, key=key, endpoint=request.path
        )
        delivery_record(
            kind=self.kind,
            integration=integration,
            source=source,
            status_code=outcome.status,
            body=body,
            outcome=outcome.body,
        )
        return Response(outcome.body, status=outcome.status)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        try:
            body = self.request._request.body
        except Exception:  # too large, or already refused while reading
            body = b""
        data = response.data if isinstance(response.data, dict) else {}
        delivery_record(
            kind=self.kind,
            integration=None,
            source="",
            status_code=response.status_code,
            body=body,
            outcome=data,
        )
        return response

    def _named_integration(self, request: Request) -> Integration | None:
        """The integration named by ``?integration=``, else the only one of this kind."""
        name = request.query_params.get("integration")
        candidates = Integration.objects.filter(kind=self.kind)
        if name:
            found = candidates.filter(name=name).first()
            if found is None:
                raise exceptions.ParseError(f"no {self.kind} integration is named {name[:100]!r}")
            return found
        only = list(candidates[:2])
        return only[0] if len(only) == 1 else None

    def _signed_integration(self, request: Request, body: bytes) -> Integration:
        names = SIGNATURE_HEADERS.get(self.kind)  # type: ignore[call-overload]
        header = request.META.get(names[0], "") if names else ""
        if not header:
            how = "Authorization: Bearer <key with the ingest scope>"
            if names:
                how += f" or a signature ({names[1]})"
            raise exceptions.NotAuthenticated(f"send {how}")
        now = timezone.now()
        for integration in Integration.objects.filter(kind=self.kind).exclude(secret=""):
            if _signature_valid(self.kind, request, body, integration.valid_secrets(now)):
                return integration
        raise exceptions.AuthenticationFailed(
            f"the signature does not match the secret of any {TOOL_NAMES[self.kind]} "  # type: ignore[index]
            "integration; check the secret stored in admin (Integrations)"
        )


def _view(kind: str, summary: str, body_doc: str) -> type[WebhookView]:
    doc = extend_schema(
        operation_id=f"integration_{kind.replace('-', '_')}",
        summary=summary,
        description=body_doc,
        parameters=[
            OpenApiParameter(
                "integration",
                str,
                description="the integration whose mappings apply (default: the only one "
                "of this kind)",
            )
        ],
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(description='{"accepted": n, "skipped": [{"index", "reason"}]}'),
            400: OpenApiResponse(description="the body is not the tool's documented payload"),
            401: OpenApiResponse(description="no key, or a bad signature"),
            403: OpenApiResponse(description="the key lacks the ingest scope"),
        },
        tags=["integrations"],
    )

    def post(self: WebhookView, request: Request) -> Response:
        return WebhookView.post(self, request)

    name = "".join(part.title() for part in kind.split("-"))
    return type(f"{name}WebhookView", (WebhookView,), {"kind": kind, "post": doc(post)})


AlertmanagerView = _view(
    Integration.Kind.ALERTMANAGER,
    "Prometheus Alertmanager / Grafana alerting webhook",
    "The webhook body Alertmanager (version 4) or Grafana sends: each alert an incident.",
)
UptimeKumaView = _view(
    Integration.Kind.UPTIME_KUMA,
    "Uptime Kuma webhook notification",
    "Uptime Kuma's JSON webhook: a DOWN beat opens an outage, the next UP resolves it.",
)
PagerDutyView = _view(
    Integration.Kind.PAGERDUTY,
    "PagerDuty V3 webhook",
    "A PagerDuty V3 webhook event, signed with X-PagerDuty-Signature or sent with a key.",
)

JiraView = _view(
    Integration.Kind.JIRA,
    "Jira Service Management issue webhook",
    "A Jira issue or comment webhook (signed with X-Hub-Signature: sha256=, or sent with a "
    "key): the issue becomes a ticket, with first response, resolution and pauses.",
)
ZendeskView = _view(
    Integration.Kind.ZENDESK,
    "Zendesk ticket event webhook",
    "A Zendesk ticket event (signed with X-Zendesk-Webhook-Signature and its timestamp "
    "header, or sent with a key): the ticket, with first response, resolution and pauses.",
)

__all__ = ["AlertmanagerView", "JiraView", "PagerDutyView", "UptimeKumaView", "ZendeskView"]
