from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from integrations.models import (
    CustomerMapping,
    Delivery,
    Integration,
    PriorityMapping,
    PrometheusQuery,
    PrometheusSource,
    ServiceMapping,
)
from integrations.preview import (
    PREVIEW_DELIVERIES,
    deliveries_preview,
    mapping_text,
    parse_mapping,
)
from portal.admin_helpers import ModelAdmin, StackedInline, TabularInline


class PreviewForm(forms.Form):
    services = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        required=False,
        help_text="external name = service key, one a line",
    )
    customers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        required=False,
        help_text="Jira project key or Zendesk organisation id = customer key",
    )
    priorities = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        required=False,
        help_text="the tool's priority = our priority (e.g. Highest = P1)",
    )


class ServiceMappingInline(TabularInline):
    model = ServiceMapping
    extra = 1
    autocomplete_fields = ["service"]


class CustomerMappingInline(TabularInline):
    model = CustomerMapping
    extra = 1
    autocomplete_fields = ["customer"]
    verbose_name = "customer mapping (Jira project key, Zendesk organisation id)"


class PriorityMappingInline(TabularInline):
    model = PriorityMapping
    extra = 1
    verbose_name = "priority mapping (Jira, Zendesk)"


@admin.register(Integration)
class IntegrationAdmin(ModelAdmin):
    list_display = ["name", "kind", "has_secret", "rotated_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["rotated_at", "created_at", "mapping_preview"]
    inlines = [ServiceMappingInline, CustomerMappingInline, PriorityMappingInline]
    actions = ["rotate_secret", "preview_mappings"]

    @admin.display(description="mapping preview")
    def mapping_preview(self, obj: Integration) -> str:
        if obj.pk is None:
            return "available once saved"
        url = reverse("admin:integrations_integration_preview", args=[obj.pk])
        return format_html(
            '<a href="{}">What the last {} deliveries would produce under changed mappings</a>',
            url,
            PREVIEW_DELIVERIES,
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="integrations_integration_preview",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Preview the last 20 deliveries under changed mappings")
    def preview_mappings(
        self, request: HttpRequest, queryset: QuerySet[Integration]
    ) -> HttpResponse | None:
        first = queryset.first()
        if first is None:
            return None
        return HttpResponseRedirect(
            reverse("admin:integrations_integration_preview", args=[first.pk])
        )

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The mappings as text, prefilled with the stored ones; on POST, what the last
        deliveries would produce under the text's mappings. Stores nothing."""
        integration = Integration.objects.filter(pk=pk).first()
        if integration is None or not self.has_view_permission(request, integration):
            return HttpResponseRedirect(reverse("admin:integrations_integration_changelist"))
        initial = {
            "services": mapping_text(
                integration.mappings.values_list("external_name", "service__key")
            ),
            "customers": mapping_text(
                integration.customer_mappings.values_list("external_name", "customer__key")
            ),
            "priorities": mapping_text(
                integration.priority_mappings.values_list("external_name", "priority")
            ),
        }
        form = PreviewForm(request.POST or None, initial=initial)
        errors: list[str] = []
        rows: list[Any] = []
        if request.method == "POST" and form.is_valid():
            try:
                maps = {
                    name: parse_mapping(form.cleaned_data[name], name)
                    for name in ("services", "customers", "priorities")
                }
            except ValueError as error:
                errors = [str(error)]
            else:
                rows = deliveries_preview(
                    integration,
                    services=maps["services"],
                    customers=maps["customers"],
                    priorities=maps["priorities"],
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "rows": rows,
            "previewed": request.method == "POST" and not errors,
            "integration": integration,
            "title": f"Mapping preview: {integration.name}",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/integrations/preview.html", context)

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
class DeliveryAdmin(ModelAdmin):
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


class PrometheusQueryInline(StackedInline):
    model = PrometheusQuery
    extra = 1
    autocomplete_fields = ["service"]


@admin.register(PrometheusSource)
class PrometheusSourceAdmin(ModelAdmin):
    """Prometheus servers read every minute; their state and last error (SPEC §4, Pull)."""

    list_display = [
        "name",
        "base_url",
        "enabled",
        "state",
        "pulled_until",
        "last_success_at",
        "last_error_short",
    ]
    list_filter = ["state", "enabled"]
    search_fields = ["name", "base_url"]
    readonly_fields = ["state", "last_error", "last_attempt_at", "last_success_at", "created_at"]
    inlines = [PrometheusQueryInline]
    actions = ["pull_now"]
    # Prometheus is mostly reached over plain HTTP inside a network.
    formfield_overrides = {models.URLField: {"assume_scheme": "http"}}

    @admin.display(description="last error")
    def last_error_short(self, obj: PrometheusSource) -> str:
        return obj.last_error[:120]

    @admin.action(description="Pull now, from where each stopped")
    def pull_now(self, request: HttpRequest, queryset: QuerySet[PrometheusSource]) -> None:
        from integrations.prometheus import source_pull

        for source in queryset:
            result = source_pull(source)
            if result.error:
                self.message_user(request, f"{source.name}: {result.error}", level=messages.ERROR)
            else:
                self.message_user(
                    request, f"{source.name}: {result.accepted} stored", level=messages.SUCCESS
                )
