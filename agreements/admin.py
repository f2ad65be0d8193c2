from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from agreements.document import DocumentError, load_document
from agreements.models import (
    Agreement,
    AgreementDocument,
    ApiKey,
    Calendar,
    CalendarRange,
    CreditTier,
    Customer,
    EscalationLevel,
    Holiday,
    Membership,
    Objective,
    Service,
    TermsVersion,
)
from agreements.services import agreement_import, record_terms_version
from portal.admin_helpers import ModelAdmin, TabularInline


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(ModelAdmin):
    list_display = ["name", "key", "agreement_count", "created_at"]
    search_fields = ["name", "key"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_agreements=Count("agreements"))

    @admin.display(description="Agreements", ordering="n_agreements")
    def agreement_count(self, obj: Customer) -> int:
        return obj.n_agreements  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(ModelAdmin):
    list_display = ["user", "customer", "role"]
    list_filter = ["role", "customer"]
    search_fields = ["user__username", "user__email", "customer__name"]
    autocomplete_fields = ["user", "customer"]


@admin.register(Service)
class ServiceAdmin(ModelAdmin):
    list_display = ["key", "name", "provider", "public"]
    list_editable = ["public"]
    list_filter = ["public"]
    search_fields = ["key", "name"]


class ObjectiveInline(TabularInline):
    model = Objective
    extra = 0
    fields = [
        "position",
        "key",
        "indicator",
        "source",
        "service",
        "target",
        "calendar",
        "threshold_ms",
        "threshold_seconds",
        "priority",
        "tiers_link",
    ]
    readonly_fields = ["tiers_link"]
    show_change_link = True

    @admin.display(description="Credit tiers")
    def tiers_link(self, obj: Objective) -> str:
        if not obj.pk:
            return "—"
        tiers = "; ".join(f"<{t.below}: {t.percent}%" for t in obj.tiers.all()) or "none"
        url = reverse("admin:agreements_objective_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, tiers)


class CalendarInline(TabularInline):
    model = Calendar
    extra = 0
    show_change_link = True


class EscalationInline(TabularInline):
    model = EscalationLevel
    extra = 0


class DocumentInline(TabularInline):
    model = AgreementDocument
    extra = 0


class VersionInline(TabularInline):
    model = TermsVersion
    extra = 0
    can_delete = False
    fields = ("number", "effective_period", "created_at", "created_by", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="YAML or JSON agreement document")
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 100}),
        help_text="…or paste the document",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("text"):
            raise forms.ValidationError("Upload a file or paste a document.")
        return data


@admin.register(Agreement)
class AgreementAdmin(ModelAdmin):
    list_display = [
        "key",
        "name",
        "customer",
        "currency",
        "monthly_fee",
        "effective_from",
        "effective_to",
        "timezone",
    ]
    list_filter = ["currency", "customer", "timezone"]
    search_fields = ["key", "name", "customer__name", "customer__key", "provider"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "effective_from"
    inlines = [ObjectiveInline, CalendarInline, EscalationInline, DocumentInline, VersionInline]
    # measured_by is set by the agreement's document (import), shown here.
    readonly_fields = ["measured_by"]
    fieldsets = [
        (None, {"fields": ["key", "name", "customer", "provider", "measured_by"]}),
        (
            "Terms",
            {
                "fields": [
                    "timezone",
                    "effective_from",
                    "effective_to",
                    "currency",
                    "monthly_fee",
                    "credit_cap_percent",
                    "claim_window_days",
                    "maintenance_notice_hours",
                    "data_grace_hours",
                    "notice_period_days",
                ]
            },
        ),
    ]

    def get_urls(self) -> list[Any]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="agreements_agreement_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = ImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data.get("file")
            try:
                text = upload.read().decode("utf-8") if upload else form.cleaned_data["text"]
                result = agreement_import(
                    data=load_document(text), actor=request.user.get_username()
                )
            except UnicodeDecodeError:
                errors = ["the file is not UTF-8 text"]
            except DocumentError as error:
                errors = [f"{p}: {m}" if p else m for p, m in error.errors]
            else:
                messages.success(request, result.summary())
                return HttpResponseRedirect(
                    reverse("admin:agreements_agreement_change", args=[result.agreement.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "title": "Import an agreement document",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/agreements/import.html", context)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Terms edited in admin are versioned exactly like an imported document.
        with transaction.atomic():
            version = record_terms_version(
                agreement=form.instance, actor=request.user.get_username(), note="edited in admin"
            )
        if version is not None:
            messages.info(
                request,
                f"Terms version {version.number} in effect from {version.effective_period}.",
            )


@admin.register(Objective)
class ObjectiveAdmin(ModelAdmin):
    list_display = ["__str__", "indicator", "service", "target", "calendar"]
    list_filter = ["indicator", "agreement__customer"]
    search_fields = ["key", "agreement__key", "service__key"]
    list_select_related = ["agreement", "service", "calendar"]

    class TierInline(TabularInline):
        model = CreditTier
        extra = 0

    inlines = [TierInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        with transaction.atomic():
            record_terms_version(
                agreement=form.instance.agreement,
                actor=request.user.get_username(),
                note="edited in admin",
            )


@admin.register(Calendar)
class CalendarAdmin(ModelAdmin):
    list_display = ["key", "agreement"]
    search_fields = ["key", "agreement__key"]

    class RangeInline(TabularInline):
        model = CalendarRange
        extra = 0

    class HolidayInline(TabularInline):
        model = Holiday
        extra = 0

    inlines = [RangeInline, HolidayInline]


@admin.register(TermsVersion)
class TermsVersionAdmin(ModelAdmin):
    list_display = ["agreement", "number", "effective_period", "created_at", "created_by", "note"]
    list_filter = ["effective_period"]
    search_fields = ["agreement__key"]
    readonly_fields = [
        "agreement",
        "number",
        "effective_period",
        "terms",
        "created_at",
        "created_by",
        "note",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "customer"]


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "customer",
        "created_at",
        "last_used_at",
        "state",
    ]
    list_filter = ["customer"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="State")
    def state(self, obj: ApiKey) -> str:
        return "revoked" if obj.revoked_at else "active"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = ApiKey.generate(
            name=obj.name, scopes=form.cleaned_data["scopes"], customer=obj.customer
        )
        obj.pk = key.pk
        obj.prefix, obj.digest = key.prefix, key.digest
        messages.warning(request, f"Copy this key now, it is not shown again: {secret}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count} key(s).")
