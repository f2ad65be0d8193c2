from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifications.forms import WebhookEndpointForm
from notifications.models import (
    EmailItem,
    Escalation,
    EscalationNotice,
    Event,
    ObjectiveState,
    Preference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.services import escalation as escalations
from notifications.services import webhook_deliveries as deliveries
from portal.admin_helpers import ModelAdmin, TabularInline


class ReadOnlyAdmin(ModelAdmin):
    """Records written by the system: staff read them, never edit them by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "agreement", "type", "objective_key", "summary"]
    list_filter = ["type", "agreement__customer", "agreement"]
    search_fields = ["agreement__key", "summary", "idempotency_key", "uid"]
    list_select_related = ["agreement"]
    date_hierarchy = "occurred_at"


class NoticeInline(TabularInline):
    model = EscalationNotice
    extra = 0
    can_delete = False
    readonly_fields = ["level", "contact", "sent_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Escalation)
class EscalationAdmin(ModelAdmin):
    list_display = [
        "subject",
        "agreement",
        "kind",
        "started_at",
        "level_notified",
        "next_at",
        "state_display",
        "acknowledged_by",
        "acknowledged_at",
    ]
    list_filter = ["kind", "acknowledged_via", "agreement__customer"]
    search_fields = ["subject", "agreement__key", "acknowledged_by"]
    list_select_related = ["agreement"]
    readonly_fields = [f.name for f in Escalation._meta.fields]
    inlines = [NoticeInline]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="State")
    def state_display(self, obj: Escalation) -> str:
        return obj.state

    @admin.action(description="Acknowledge selected escalations")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Escalation]) -> None:
        now = timezone.now()
        for escalation in queryset:
            escalations.escalation_acknowledge(
                escalation_id=escalation.pk,
                actor=request.user.get_username(),
                via=Escalation.Via.ADMIN,
                now=now,
            )
        messages.success(request, f"{queryset.count()} escalation(s) acknowledged.")


class DeliveryInline(TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ["event", "state", "attempts", "last_status_code", "last_error", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]
    ordering = ["-created_at"]
    max_num = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("event")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModelAdmin):
    list_display = [
        "url",
        "customer",
        "event_list",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "created_at",
    ]
    list_filter = ["is_active", "customer"]
    search_fields = ["url", "customer__key", "customer__name", "description"]
    list_select_related = ["customer"]
    fields = [
        "customer",
        "url",
        "events",
        "description",
        "is_active",
        "secret",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "created_by",
    ]
    readonly_fields = [
        "secret",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "created_by",
    ]
    form = WebhookEndpointForm
    actions = ["enable", "disable"]

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)

    @admin.action(description="Enable selected endpoints (reset failures)")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            deliveries.webhook_enable(endpoint_id=endpoint.pk)
        messages.success(request, f"{queryset.count()} endpoint(s) enabled.")

    @admin.action(description="Disable selected endpoints")
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            deliveries.webhook_disable(
                endpoint_id=endpoint.pk,
                reason=f"disabled by {request.user.get_username()}",
                now=timezone.now(),
            )
        messages.success(request, f"{queryset.count()} endpoint(s) disabled.")


class AttemptInline(TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "at", "status_code", "duration_ms", "error", "response_excerpt"]
    max_num = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "endpoint",
        "event_type",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "finished_at",
    ]
    list_filter = ["state", "event__type", "endpoint__customer"]
    search_fields = ["endpoint__url", "event__agreement__key", "last_error"]
    list_select_related = ["endpoint", "event"]
    inlines = [AttemptInline]
    actions = ["resend"]

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The change page is the read-only delivery log; actions need this permission.
        return ModelAdmin.has_change_permission(self, request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in WebhookDelivery._meta.fields]

    @admin.action(description="Resend selected deliveries")
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent = sum(deliveries.webhook_resend(delivery_id=d.pk) for d in queryset)
        skipped = queryset.count() - sent
        messages.success(request, f"{sent} delivery(ies) queued again.")
        if skipped:
            messages.warning(request, f"{skipped} skipped: their endpoint is disabled.")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["at", "delivery", "number", "status_code", "duration_ms", "error"]
    list_filter = ["status_code"]
    search_fields = ["delivery__endpoint__url", "error"]
    list_select_related = ["delivery__endpoint", "delivery__event"]


@admin.register(EmailItem)
class EmailItemAdmin(ReadOnlyAdmin):
    list_display = ["queued_at", "recipient", "event", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient", "event__agreement__key"]
    list_select_related = ["event__agreement"]


@admin.register(Preference)
class PreferenceAdmin(ModelAdmin):
    list_display = ["user", "agreement", "updated_at"]
    list_filter = ["agreement"]
    search_fields = ["user__username", "user__email", "agreement__key"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "agreement"]


@admin.register(ObjectiveState)
class ObjectiveStateAdmin(ReadOnlyAdmin):
    list_display = ["period", "objective_key", "status", "episode", "changed_at"]
    list_filter = ["status"]
    search_fields = ["period__agreement__key", "objective_key"]
    list_select_related = ["period__agreement"]
