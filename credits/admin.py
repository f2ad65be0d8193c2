from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from agreements import display
from agreements.models import Agreement
from credits.claims import claim_decide
from credits.closing import CloseError, can_close, close_period, preview_close
from credits.ledger import LedgerError, record_entry
from credits.models import (
    Claim,
    ClaimEvent,
    Evaluation,
    Failure,
    LedgerEntry,
    Period,
    Restatement,
)
from credits.restatement import RestateError, restate_period
from portal.admin_helpers import ModelAdmin, TabularInline


def _ask_reason(
    admin_obj: ModelAdmin,
    request: HttpRequest,
    queryset: Any,
    action: str,
    title: str,
    do: Any,
) -> HttpResponse | None:
    """An admin action that asks for a mandatory reason on an intermediate page."""
    if request.POST.get("confirm"):
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            messages.error(request, "A reason is required.")
        else:
            done = 0
            for obj in queryset:
                try:
                    do(obj, reason)
                    done += 1
                except (LedgerError, RestateError) as error:
                    messages.error(request, f"{obj}: {error}")
            if done:
                messages.success(request, f"{title}: {done} done.")
            return None
    context = {
        **admin_obj.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "action": action,
        "opts": admin_obj.model._meta,
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
    }
    return TemplateResponse(request, "admin/credits/reason.html", context)


class EvaluationInline(TabularInline):
    model = Evaluation
    extra = 0
    can_delete = False
    fields = [
        "revision",
        "objective_key",
        "target",
        "achieved",
        "status",
        "good",
        "bad",
        "unit",
        "completeness",
        "budget_remaining_percent",
        "credit_percent",
        "computed_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RestatementInline(TabularInline):
    model = Restatement
    extra = 0
    can_delete = False
    readonly_fields = [
        "from_revision",
        "to_revision",
        "previous_amount",
        "new_amount",
        "reason",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Period)
class PeriodAdmin(ModelAdmin):
    list_display = [
        "agreement",
        "period",
        "state",
        "credit_amount",
        "revision",
        "late_data",
        "computed_at",
        "closed_at",
    ]
    list_filter = ["state", "late_data", "agreement__customer"]
    search_fields = ["agreement__key", "period"]
    list_select_related = ["agreement"]
    readonly_fields = [f.name for f in Period._meta.fields]
    inlines = [EvaluationInline, RestatementInline]
    actions = ["recompute_now", "close", "restate"]

    @admin.action(description="Recompute now (the agreements of the selected open periods)")
    def recompute_now(self, request: HttpRequest, queryset: Any) -> None:
        from kombu.exceptions import OperationalError

        from credits.tasks import recompute_now

        periods = list(queryset)
        ids = [p.agreement_id for p in periods if not p.is_closed]
        closed = len(periods) - len(ids)
        try:
            queued = recompute_now(ids)
        except OperationalError as error:
            messages.error(request, f"The task queue cannot be reached, nothing queued: {error}")
            return
        note = (
            f"; {closed} closed period(s) left as they are (restate them instead)" if closed else ""
        )
        messages.success(
            request, f"Queued a recompute of the open periods of {queued} agreement(s){note}."
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Close selected periods (after their grace time)")
    def close(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        periods = list(queryset.select_related("agreement"))
        ready = [p for p in periods if can_close(p)]
        if request.POST.get("confirm"):
            closed = 0
            for period in ready:
                try:
                    if close_period(period_id=period.pk) is not None:
                        closed += 1
                except CloseError as error:
                    messages.error(request, str(error))
            if closed:
                messages.success(request, f"Closed {closed} period(s); their credits are entered.")
            return None
        rows: list[tuple[Period, str | None, str]] = []
        for period in periods:
            if period.is_closed:
                rows.append((period, None, "already closed"))
            elif period not in ready:
                rows.append((period, None, f"can close from {period.closes_at:%Y-%m-%d %H:%M} UTC"))
            else:
                result = preview_close(period_id=period.pk)
                credit = display.money(result.credit) if result is not None else "0.00"
                rows.append((period, f"{credit} {period.agreement.currency}", ""))
        context = {
            **self.admin_site.each_context(request),
            "title": "Close periods",
            "rows": rows,
            "ready": len(ready),
            "action": "close",
            "opts": self.model._meta,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/credits/close.html", context)

    @admin.action(description="Re-evaluate (restate) selected closed periods")
    def restate(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        actor = request.user.get_username()
        return _ask_reason(
            self,
            request,
            queryset,
            "restate",
            "Re-evaluate closed periods",
            lambda p, reason: restate_period(period_id=p.pk, actor=actor, reason=reason),
        )


@admin.register(Failure)
class FailureAdmin(ModelAdmin):
    """Agreements whose recompute or closing failed; beat retries them, a success resolves."""

    list_display = [
        "agreement",
        "stage",
        "period",
        "error",
        "attempts",
        "first_at",
        "last_at",
        "resolved_at",
    ]
    list_filter = ["stage", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["agreement__key", "error"]
    list_select_related = ["agreement"]
    readonly_fields = [f.name for f in Failure._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class LedgerForm(forms.Form):
    agreement = forms.ModelChoiceField(queryset=Agreement.objects.order_by("key"))
    kind = forms.ChoiceField(
        choices=[
            (LedgerEntry.Kind.APPLIED, "Applied to an invoice (reduces the balance)"),
            (LedgerEntry.Kind.ADJUSTMENT, "Manual adjustment (+ or -)"),
        ]
    )
    amount = forms.CharField(help_text="e.g. 1200.00; applied entries are entered as negative")
    reason = forms.CharField(max_length=500)
    reference = forms.CharField(max_length=100, required=False, help_text="e.g. the invoice number")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ModelAdmin):
    list_display = [
        "created_at",
        "agreement",
        "kind",
        "amount",
        "currency",
        "period",
        "created_by",
        "reason",
    ]
    list_filter = ["kind", "currency", "agreement__customer", "agreement"]
    search_fields = ["agreement__key", "reason", "reference"]
    list_select_related = ["agreement", "period"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "record/",
                self.admin_site.admin_view(self.record_view),
                name="credits_ledgerentry_record",
            ),
            *super().get_urls(),
        ]

    def record_view(self, request: HttpRequest) -> HttpResponse:
        form = LedgerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                amount = Decimal(form.cleaned_data["amount"])
                entry = record_entry(
                    agreement=form.cleaned_data["agreement"],
                    kind=form.cleaned_data["kind"],
                    amount=amount,
                    actor=request.user.get_username(),
                    reason=form.cleaned_data["reason"],
                    reference=form.cleaned_data["reference"],
                    now=timezone.now(),
                )
            except InvalidOperation:
                form.add_error("amount", "Not a number.")
            except LedgerError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Recorded {entry}.")
                return HttpResponseRedirect(reverse("admin:credits_ledgerentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": "Record an applied credit or an adjustment",
        }
        return TemplateResponse(request, "admin/credits/record.html", context)


class ClaimEventInline(TabularInline):
    model = ClaimEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "state", "actor", "note"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Claim)
class ClaimAdmin(ModelAdmin):
    """The staff's claims queue: claimed credits wait here for approval or rejection."""

    list_display = [
        "agreement",
        "period",
        "amount",
        "currency",
        "state",
        "claimable_until",
        "claimed_by",
        "decided_by",
    ]
    list_filter = ["state", "agreement__customer"]
    search_fields = ["agreement__key"]
    list_select_related = ["agreement", "period"]
    readonly_fields = [f.name for f in Claim._meta.fields]
    inlines = [ClaimEventInline]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve selected claims (enters the credit)")
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        for claim in queryset:
            try:
                claim_decide(
                    claim_id=claim.pk,
                    approve=True,
                    actor=request.user.get_username(),
                    now=timezone.now(),
                )
                messages.success(request, f"Approved {claim}.")
            except LedgerError as error:
                messages.error(request, f"{claim}: {error}")

    @admin.action(description="Reject selected claims (asks for a reason)")
    def reject(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        actor = request.user.get_username()
        return _ask_reason(
            self,
            request,
            queryset,
            "reject",
            "Reject claims",
            lambda c, reason: claim_decide(
                claim_id=c.pk, approve=False, actor=actor, now=timezone.now(), reason=reason
            ),
        )


@admin.register(Restatement)
class RestatementAdmin(ModelAdmin):
    list_display = [
        "period",
        "from_revision",
        "to_revision",
        "previous_amount",
        "new_amount",
        "created_by",
        "created_at",
        "reason",
    ]
    readonly_fields = [f.name for f in Restatement._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
