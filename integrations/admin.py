from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations.models import (
    CustomerMapping,
    Delivery,
    Integration,
    PriorityMapping,
    ServiceMapping,
)


class ServiceMappingInline(admin.TabularInline):
    model = ServiceMapping
    extra = 1
    autocomplete_fields = ["service"]


class CustomerMappingInline(admin.TabularInline):
    model = CustomerMapping
    extra = 1
    autocomplete_fields = ["customer"]
    verbose_name = "customer mapping (Jira project key, Zendesk organisation id)"


class PriorityMappingInline(admin.TabularInline):
    model = PriorityMapping
    extra = 1
    verbose_name = "priority mapping (Jira, Zendesk)"


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "has_secret", "rotated_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["rotated_at", "created_at"]
    inlines = [ServiceMappingInline, CustomerMappingInline, PriorityMappingInline]
    actions = ["rotate_secret"]

    @admin.display(boolean=True, description="secret")
    def has_secret(self, obj: Integration) -> bool:
        return bool(obj.secret)

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        # Changing the secret by hand is a rotation: the old one stays valid for a day.
        if change and "secret" in form.changed_data:
            new = obj.secret
            obj.secret = form.initial.get("secret", "")
            obj.rotate(new)
        super().save_model(request, obj, form, change)

    @admin.action(description="Rotate the secret (the old one stays valid for 24 h)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            secret = integration.rotate()
            integration.save(update_fields=["secret", "previous_secret", "rotated_at"])
            self.message_user(
                request, f"{integration.name}: new secret {secret}", level=messages.WARNING
            )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Every webhook delivery of the last 30 days, accepted, skipped or refused."""

    list_display = ["received_at", "kind", "integration", "source", "status_code", "accepted"]
    list_filter = ["kind", "status_code", "integration"]
    list_select_related = ["integration"]
    search_fields = ["source", "error"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
