from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from metrics.exclusions import exclusion_changed
from metrics.models import (
    EventCount,
    Exclusion,
    Incident,
    IncidentStatusUpdate,
    IncidentUpdate,
    IngestionBatch,
    LateArrival,
    Maintenance,
    ProbeDay,
    ProbeResult,
    Ticket,
)
from metrics.signals import incident_changed, incident_status_posted
from portal.admin_helpers import ModelAdmin, TabularInline


class ReadOnly(ModelAdmin):
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


class IncidentStatusUpdateInline(TabularInline):
    """The public timeline: what staff post here shows on the status page at once."""

    model = IncidentStatusUpdate
    extra = 1
    fields = ["at", "status", "message"]
    verbose_name = "public update"
    verbose_name_plural = "public updates (status page and agreement page)"


class IncidentUpdateInline(TabularInline):
    model = IncidentUpdate
    extra = 0
    readonly_fields = ["at", "changes"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ModelAdmin):
    list_display = ["title", "service", "impact", "started_at", "resolved_at", "late"]
    list_filter = ["impact", "late", "service"]
    search_fields = ["title", "external_id"]
    list_select_related = ["service"]
    date_hierarchy = "started_at"
    inlines = [IncidentStatusUpdateInline, IncidentUpdateInline]
    # A postmortem link typed without a scheme is read as https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Staff's incidents notify like a partner's: the same signal, after commit.
        changed = [f for f in form.changed_data if f in _NOTIFIED_FIELDS]
        if not change or changed:
            changes = {f: _jsonable(getattr(obj, f)) for f in changed or _NOTIFIED_FIELDS}
            transaction.on_commit(
                partial(
                    incident_changed.send,
                    sender=Incident,
                    instance=obj,
                    created=not change,
                    changes=changes,
                )
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save()
        for update in instances:
            if isinstance(update, IncidentStatusUpdate) and update in formset.new_objects:
                transaction.on_commit(
                    partial(
                        incident_status_posted.send, sender=IncidentStatusUpdate, instance=update
                    )
                )


_NOTIFIED_FIELDS = ["title", "impact", "started_at", "resolved_at"]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@admin.register(Maintenance)
class MaintenanceAdmin(ModelAdmin):
    list_display = ["title", "service", "start", "end", "announced_at", "late"]
    list_filter = ["service", "late"]
    search_fields = ["title", "external_id"]
    list_select_related = ["service"]
    date_hierarchy = "start"


@admin.register(Ticket)
class TicketAdmin(ModelAdmin):
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
class LateArrivalAdmin(ModelAdmin):
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


@admin.register(Exclusion)
class ExclusionAdmin(ModelAdmin):
    """Time the provider is not answerable for (rule 3): every change recomputes the open
    period, and one touching a closed period flags it for restatement."""

    list_display = [
        "service",
        "external_id",
        "start",
        "end",
        "reason",
        "recorded_by",
        "recorded_at",
    ]
    list_filter = ["reason", "service"]
    search_fields = ["external_id", "note"]
    list_select_related = ["service"]
    readonly_fields = ["recorded_by", "recorded_at"]
    date_hierarchy = "start"

    def save_model(self, request: HttpRequest, obj: Exclusion, form: Any, change: bool) -> None:
        with transaction.atomic():
            old = Exclusion.objects.filter(pk=obj.pk).first() if change else None
            obj.recorded_by = f"staff:{request.user.get_username()}"
            super().save_model(request, obj, form, change)
            first, last = obj.start, obj.end
            if old is not None:
                first, last = min(first, old.start), max(last, old.end)
            exclusion_changed(service=obj.service, first=first, last=last)

    def delete_model(self, request: HttpRequest, obj: Exclusion) -> None:
        with transaction.atomic():
            service, first, last = obj.service, obj.start, obj.end
            super().delete_model(request, obj)
            exclusion_changed(service=service, first=first, last=last)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # The bulk action too: each removed exclusion gives its time back to covered time.
        with transaction.atomic():
            for obj in queryset.select_related("service"):
                self.delete_model(request, obj)
