from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from metrics import recurrence
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
from metrics.services.records import series_sync
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


class MaintenanceForm(forms.ModelForm):
    class Meta:
        model = Maintenance
        fields = ["service", "external_id", "title", "start", "end", "announced_at", "recurrence"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end, rule = data.get("start"), data.get("end"), data.get("recurrence")
        if rule and start and end and end > start:
            try:
                data["recurrence"] = recurrence.check(
                    rule, start=start, end=end, now=timezone.now()
                )
            except recurrence.RecurrenceError as error:
                self.add_error("recurrence", str(error))
        return data


@admin.register(Maintenance)
class MaintenanceAdmin(ModelAdmin):
    """Staff may post and change windows; a recurring window's later occurrences are
    shown read-only (they follow the first, which holds the rule)."""

    form = MaintenanceForm
    list_display = ["title", "service", "start", "end", "announced_at", "late", "recurring"]
    list_filter = ["service", "late", ("series", admin.EmptyFieldListFilter)]
    search_fields = ["title", "external_id"]
    list_select_related = ["service", "series"]
    date_hierarchy = "start"
    readonly_fields = ["series_link"]

    @admin.display(description="recurring")
    def recurring(self, obj: Maintenance) -> str:
        if obj.recurrence:
            return format_html('<a href="?series__id__exact={}">{}</a>', obj.pk, obj.recurrence)
        if obj.series_id is not None:
            return format_html('<a href="?series__id__exact={}">occurrence</a>', obj.series_id)
        return ""

    @admin.display(description="series")
    def series_link(self, obj: Maintenance) -> str:
        first = obj.series or obj
        if not first.recurrence and obj.series_id is None:
            return "-"
        url = reverse("admin:metrics_maintenance_changelist")
        return format_html(
            '<a href="{}?series__id__exact={}">occurrences of {}</a>', url, first.pk, first
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.series_id is not None:
            return [*MaintenanceForm.Meta.fields, "series_link"]
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An occurrence goes with its series (or a change of its rule), not alone.
        if obj is not None and obj.series_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Maintenance, form: Any, change: bool) -> None:
        if obj.series_id is not None:
            return
        super().save_model(request, obj, form, change)
        series_sync(obj, now=timezone.now(), closed_until=obj.service.closed_until)


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
