"""Ingestion endpoints (SPEC §4): JSON arrays or CSV, all-or-nothing, idempotent."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements.auth import HasScope, ProviderOnly
from agreements.models import Agreement, ApiKey, Customer, Service
from metrics import ingest, recurrence
from metrics.exclusions import EXCLUSION_FIELDS, ExclusionError, exclusion_input, exclusion_record
from metrics.limits import MinuteTotalExceeded
from metrics.models import Exclusion
from metrics.rows import Row
from metrics.services import Source, minute_of
from metrics.services import ingest as store

FIELDS = {
    "probes": '{"service", "ts", "ok", "latency_ms", "probe"?}',
    "events": '{"service", "ts", "good", "total"}',
    "tickets": '{"customer", "external_id", "priority", "opened_at", "first_response_at"?, "resolved_at"?, "paused"?: [{"from", "to"}]}',
    "incidents": '{"service", "external_id", "title", "impact", "started_at", "resolved_at"?}',
    "maintenance": '{"service", "external_id", "title", "start", "end", "announced_at"}',
    "samples": '{"service", "metric", "ts", "value"} (value a decimal number or string)',
}


class _RawParser(BaseParser):
    """Leaves the body alone: ingestion parses it itself, faster and with exact errors."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return None


def context_for(key: ApiKey | None, *, csv: bool, kind: str) -> ingest.Context:
    """The ingestion context of a batch sent with ``key`` (None: a sender authenticated
    otherwise, such as a signed integration, bound to no customer)."""
    services = Service.objects.all()
    customers = Customer.objects.all()
    if key is not None and key.customer_id is not None:
        # A customer-bound key may write only its own customer's data.
        services = services.filter(objectives__agreement__customer_id=key.customer_id).distinct()
        customers = customers.filter(pk=key.customer_id)
    # Tickets belong to customers, everything else to services: only that list is read.
    service_rows: list[tuple[str, int, Any]] = []
    customer_rows: list[tuple[str, int, Any]] = []
    if kind == "tickets":
        customer_rows = list(customers.values_list("key", "id", "closed_until"))
    else:
        service_rows = list(services.values_list("key", "id", "closed_until"))
    ctx = ingest.Context(
        now=timezone.now(),
        services={k: i for k, i, _ in service_rows},
        customers={k: i for k, i, _ in customer_rows},
        csv=csv,
    )
    ctx.closed_services = {i: c for _, i, c in service_rows}  # type: ignore[attr-defined]
    ctx.closed_customers = {i: c for _, i, c in customer_rows}  # type: ignore[attr-defined]
    return ctx


def unlisted_service(key: ApiKey, rows: list[Row], services: dict[str, int]) -> str | None:
    """The first service of the batch whose agreements name ``measured_by`` without this
    key's name (SPEC §4, Authority), or None when every service accepts the key.

    A service's measurements count for every agreement on it, so each agreement that
    names its sources must list the key. One query, whatever the size of the batch.
    """
    ids = {row[0] for row in rows}  # the service id leads every row about a service
    refused = refusing_services(key.name, ids)
    if not refused:
        return None
    return min(name for name, service_id in services.items() if service_id in refused)


def refusing_services(source: str, service_ids: set[int]) -> set[int]:
    """The services among ``service_ids`` that accept no measurements from ``source`` (an
    API key's or an integration's name): some agreement on them names ``measured_by``
    without it (SPEC §4, Authority). One query."""
    refused: set[int] = set()
    for service_id, listed_id, names in Agreement.objects.filter(
        Q(objectives__service_id__in=service_ids)
        | Q(objectives__listed_services__in=service_ids)  # rule 18
    ).values_list("objectives__service_id", "objectives__listed_services", "measured_by"):
        if names and source not in names:
            refused |= {service_id, listed_id} & service_ids
    return refused


class IngestView(APIView):
    permission_classes = [HasScope]
    required_scope = "ingest"
    parser_classes = [_RawParser]
    kind = ""

    def post(self, request: Request) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > ingest.MAX_BYTES:
            return _too_large(f"the body is larger than {ingest.MAX_BYTES // (1024 * 1024)} MB")
        try:
            body = request._request.body
        except RequestDataTooBig:
            return _too_large(f"the body is larger than {ingest.MAX_BYTES // (1024 * 1024)} MB")
        content_type = request.META.get("CONTENT_TYPE", "")
        kind = ingest.KINDS[self.kind]
        try:
            records = ingest.parse_body(body, content_type)
            ctx = context_for(
                request.auth,  # type: ignore[arg-type]
                csv=content_type.lower().startswith("text/csv"),
                kind=self.kind,
            )
            rows = ingest.validate_batch(kind, records, ctx)
        except ingest.BatchTooLarge as error:
            return _too_large(str(error))
        except ingest.BatchInvalid as error:
            body_out: dict[str, Any] = {
                "error": f"nothing stored: {error.total} problem(s) in the batch",
                "errors": error.errors,
            }
            if error.total > len(error.errors):
                body_out["truncated"] = True
            return Response(body_out, status=status.HTTP_400_BAD_REQUEST)
        key: ApiKey = request.auth  # type: ignore[assignment]
        if self.kind != "tickets":
            service = unlisted_service(key, rows, ctx.services)
            if service is not None:
                return Response(
                    {
                        "error": f"service {service!r} accepts measurements only from the "
                        f"sources its agreements name (measured_by); API key {key.name!r} "
                        "is not one of them",
                        "service": service,
                    },
                    status=status.HTTP_403_FORBIDDEN,
                )
        owners = ctx.closed_customers if self.kind == "tickets" else ctx.closed_services  # type: ignore[attr-defined]
        source = Source(name=key.name, endpoint=request.path, api_key_id=key.pk)
        try:
            result = store(self.kind, rows=rows, closed=owners, source=source)
        except MinuteTotalExceeded as error:
            return _invalid(
                [{"index": _first_in(rows, error), "field": "total", "message": str(error)}]
            )
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


def _first_in(rows: list[Row], error: MinuteTotalExceeded) -> int | None:
    for index, row in enumerate(rows):
        if row.owner == error.service_id and minute_of(row.at) == error.minute:
            return index
    return None


def _invalid(errors: list[dict[str, Any]]) -> Response:
    return Response(
        {"error": f"nothing stored: {len(errors)} problem(s) in the batch", "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


def _too_large(message: str) -> Response:
    return Response(
        {
            "error": f"{message}; split it into batches of at most "
            f"{ingest.MAX_RECORDS} records and 10 MB"
        },
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


MAINTENANCE_ITEM = {
    "type": "object",
    "required": ["service", "external_id", "title", "start", "end", "announced_at"],
    "properties": {
        "service": {"type": "string"},
        "external_id": {"type": "string", "maxLength": 128},
        "title": {"type": "string", "maxLength": 300},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "announced_at": {"type": "string", "format": "date-time"},
        "recurrence": {
            "type": "string",
            "maxLength": recurrence.MAX_LENGTH,
            "example": "FREQ=WEEKLY;BYDAY=SU",
            "description": "Optional RFC 5545 RRULE; start/end are its first occurrence "
            "(DTSTART = start, expanded in UTC). FREQ hourly to yearly; no DTSTART, no COUNT "
            "with UNTIL, UNTIL in UTC; occurrences must not overlap; at most "
            f"{recurrence.MAX_OCCURRENCES} from the start to {recurrence.HORIZON.days} days ahead. "
            "Re-posting without it removes the occurrences to come.",
        },
    },
}


def _view(kind: str, summary: str) -> type[IngestView]:
    item: dict[str, Any] = MAINTENANCE_ITEM if kind == "maintenance" else {"type": "object"}
    doc = extend_schema(
        operation_id=f"ingest_{kind}",
        summary=summary,
        description=(
            f"A JSON array (or `text/csv` with the same header) of records {FIELDS[kind]}. "
            "All or nothing: one bad record answers 400 with every problem and stores nothing. "
            "Re-sent records are counted as duplicates. At most 10,000 records and 10 MB."
        ),
        request={
            "application/json": {"type": "array", "items": item},
            "text/csv": {"type": "string"},
        },
        responses={
            201: OpenApiResponse(description='{"accepted": n, "duplicates": d}'),
            400: OpenApiResponse(description='{"errors": [{"index", "field", "message"}]}'),
            403: OpenApiResponse(
                description="the key lacks ingest, or a service's agreements name other "
                "sources (measured_by)"
            ),
            413: OpenApiResponse(description="batch too large"),
            429: OpenApiResponse(description="rate limited; see Retry-After"),
        },
        examples=[
            OpenApiExample(
                "accepted",
                value={"accepted": 2, "duplicates": 0},
                response_only=True,
                status_codes=["201"],
            )
        ],
        tags=["ingestion"],
    )

    # A method of its own per view, so each endpoint carries its own documentation.
    def post(self: IngestView, request: Request) -> Response:
        return IngestView.post(self, request)

    return type(f"{kind.title()}IngestView", (IngestView,), {"kind": kind, "post": doc(post)})


ProbesView = _view("probes", "Push probe results")
EventsView = _view("events", "Push good/total event counts")
TicketsView = _view("tickets", "Push or update support tickets")
IncidentsView = _view("incidents", "Push or update incidents")
MaintenanceView = _view("maintenance", "Push or update maintenance windows")


class ExclusionsView(APIView):
    """``POST /api/v1/exclusions/`` (SPEC §4): the provider records time it is not
    answerable for; the same (service, external_id) updates it."""

    permission_classes = [HasScope, ProviderOnly]
    required_scope = "write"

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "required": list(EXCLUSION_FIELDS),
                "properties": {
                    "service": {"type": "string"},
                    "external_id": {"type": "string"},
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "reason": {"type": "string", "enum": list(Exclusion.Reason.values)},
                    "note": {"type": "string"},
                },
            }
        },
        responses={
            201: OpenApiResponse(description="recorded"),
            200: OpenApiResponse(description="updated"),
        },
        tags=["ingestion"],
        description="Record an exclusion (provider keys only): removed from covered time "
        "whatever its notice (rule 3); a closed period it touches is flagged for restatement.",
    )
    def post(self, request: Request) -> Response:
        try:
            data = exclusion_input(request.data, now=timezone.now())
        except ExclusionError as error:
            return Response({"error": str(error), "field": error.field}, status=400)
        row, created = exclusion_record(data=data, actor=str(request.user))
        body = {
            "id": row.pk,
            "service": row.service.key,
            "external_id": row.external_id,
            "start": row.start.isoformat().replace("+00:00", "Z"),
            "end": row.end.isoformat().replace("+00:00", "Z"),
            "reason": row.reason,
            "note": row.note,
        }
        return Response(body, status=201 if created else 200)


SamplesView = _view("samples", "Push samples of numeric metrics")
