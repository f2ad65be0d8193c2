"""Staff give notice and propose amendments here; both go through the services, so the
end date, the terms version and the events follow as they do over the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from agreements.document import DocumentError
from contracts.models import Amendment, Notice, ReportDelivery
from contracts.services import ContractError, amendment_propose, notice_give
from portal.admin_helpers import ModelAdmin


class NoticeForm(forms.ModelForm):
    class Meta:
        model = Notice
        fields = ["agreement", "by", "reason", "requested_end_on"]
        labels = {"requested_end_on": "End on (optional, local date of the agreement)"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        agreement = data.get("agreement")
        if agreement is not None and Notice.objects.filter(agreement=agreement).exists():
            raise forms.ValidationError("Notice was already given for this agreement.")
        return data


@admin.register(Notice)
class NoticeAdmin(ModelAdmin):
    form = NoticeForm
    list_display = ["agreement", "by", "given_at", "given_by", "end_on", "reason"]
    list_filter = ["by"]
    list_select_related = ["agreement"]
    search_fields = ["agreement__key", "reason"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["agreement", "by", "reason", "requested_end_on", "given_by", "given_at", "end_on"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["agreement", "by", "reason", "requested_end_on"]
        return self.get_readonly_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Notice, form: Any, change: bool) -> None:
        if change:
            return
        try:
            given = notice_give(
                agreement=obj.agreement,
                by=obj.by,
                reason=obj.reason,
                end_on=obj.requested_end_on,
                actor=f"staff:{request.user.get_username()}",
            )
        except ContractError as error:
            messages.error(request, f"Notice was not given: {error}")
            return
        obj.pk = given.pk
        messages.info(request, f"The agreement now ends on {given.end_on:%Y-%m-%d}.")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AmendmentForm(forms.ModelForm):
    class Meta:
        model = Amendment
        fields = ["agreement", "document", "effective_period", "note"]
        help_texts = {"document": "The whole agreement document as JSON, with the new terms."}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.instance = amendment_propose(
                agreement=data["agreement"],
                document=data["document"],
                effective_period=data["effective_period"],
                note=data["note"],
                actor=self.actor,
            )
        except ContractError as error:
            raise forms.ValidationError(str(error)) from None
        except DocumentError as error:
            raise forms.ValidationError([f"{p}: {m}" for p, m in error.errors]) from None
        return data

    actor = ""


@admin.register(Amendment)
class AmendmentAdmin(ModelAdmin):
    form = AmendmentForm
    list_display = [
        "agreement",
        "effective_period",
        "status",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status"]
    list_select_related = ["agreement"]
    search_fields = ["agreement__key", "note"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = f"staff:{request.user.get_username()}"  # type: ignore[attr-defined]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return [f.name for f in Amendment._meta.fields]

    def save_model(self, request: HttpRequest, obj: Amendment, form: Any, change: bool) -> None:
        """Proposing happened in the form's clean (one transaction with the request);
        nothing else is ever saved: only the customer decides."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(ModelAdmin):
    list_display = ["period", "revision", "sent_at", "sent_by"]
    list_select_related = ["period__agreement"]
    readonly_fields = ["period", "revision", "recipients", "sent_at", "sent_by"]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Resend the monthly report of the selected periods")
    def resend(self, request: HttpRequest, queryset: Any) -> None:
        from contracts.reports import report_send

        sent = 0
        for period_id in sorted(set(queryset.values_list("period_id", flat=True))):
            actor = f"staff:{request.user.get_username()}"
            sent += report_send(period_id=period_id, actor=actor, force=True) is not None
        messages.info(request, f"Resent {sent} monthly report(s).")
