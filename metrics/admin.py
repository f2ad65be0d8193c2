from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from metrics.models import (
    EventCount,
    Incident,
    IncidentUpdate,
    IngestionBatch,
    LateArrival,
    Maintenance,
    ProbeDay,
    ProbeResult,
    Ticket,
)


class ReadOnly(admin.ModelAdmin):
    """Measurements come from partners; staff look, and never edit them by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProbeResult)
class ProbeResultAdmin(ReadOnly):
    list_display = ["ts", "service", "probe", "ok", "latency_ms", "late"]
    list_filter = ["ok", "late", "service"]
    list_select_related = ["service"]
    show_full_result_count = False  # counting millions of rows on every page is slow
    date_hierarchy = None


@admin.register(ProbeDay)
class ProbeDayAdmin(ReadOnly):
    list_display = ["day", "service", "up", "down", "probes_ok", "probes_failed"]
    list_filter = ["service"]
    list_select_related = ["service"]
    date_hierarchy = "day"


@admin.register(EventCount)
class EventCountAdmin(ReadOnly):
    list_display = ["ts", "service", "good", "total", "late"]
    list_filter = ["late", "service"]
    list_select_related = ["service"]
    show_full_result_count = False


class IncidentUpdateInline(admin.TabularInline):
    model = IncidentUpdate
    extra = 0
    readonly_fields = ["at", "changes"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "service", "impact", "started_at", "resolved_at", "late"]
    list_filter = ["impact", "late", "service"]
    search_fields = ["title", "external_id"]
    list_select_related = ["service"]
    date_hierarchy = "started_at"
    inlines = [IncidentUpdateInline]


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    list_display = ["title", "service", "start", "end", "announced_at", "late"]
    list_filter = ["service", "late"]
    search_fields = ["title", "external_id"]
    list_select_related = ["service"]
    date_hierarchy = "start"


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "customer",
        "priority",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "late",
    ]
    list_filter = ["priority", "late", "customer"]
    search_fields = ["external_id"]
    list_select_related = ["customer"]
    date_hierarchy = "opened_at"


@admin.register(LateArrival)
class LateArrivalAdmin(admin.ModelAdmin):
    """Data that arrived after its period closed: staff review it and may re-evaluate."""

    list_display = [
        "received_at",
        "kind",
        "service",
        "customer",
        "records",
        "first_ts",
        "last_ts",
        "reviewed",
    ]
    list_filter = ["kind", "reviewed"]
    list_editable = ["reviewed"]
    readonly_fields = [
        "kind",
        "service",
        "customer",
        "records",
        "first_ts",
        "last_ts",
        "received_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(IngestionBatch)
class IngestionBatchAdmin(ReadOnly):
    """Every stored batch with its source: the evidence of where the figures came from."""

    list_display = [
        "received_at",
        "kind",
        "source",
        "api_key",
        "records",
        "accepted",
        "duplicates",
        "late",
        "first_ts",
        "last_ts",
    ]
    list_filter = ["kind", "source"]
    list_select_related = ["api_key"]
    search_fields = ["source", "endpoint"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "kind",
        "endpoint",
        "source",
        "api_key",
        "services",
        "customers",
        "records",
        "accepted",
        "duplicates",
        "late",
        "first_ts",
        "last_ts",
    ]
