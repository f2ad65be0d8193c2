from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from agreements import display
from agreements.document import DocumentError, load_document
from agreements.document.forms import BOUNDED_INDICATORS
from agreements.document.objectives import check_credit_tiers
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

User = get_user_model()


class MemberForm(forms.ModelForm):
    """A member by email: an existing account with that email (or user name) is used,
    otherwise one is created with no usable password and gets an invitation email."""

    email = forms.EmailField(
        max_length=150,
        error_messages={"invalid": "Enter a valid email address, like name@example.com."},
    )
    name = forms.CharField(
        max_length=150, required=False, help_text="first and last name, for a new account"
    )

    class Meta:
        model = Membership
        fields = ["email", "name", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.created_user: Any = None
        if self.instance.pk:
            user = self.instance.user
            self.fields["email"].initial = user.email or user.get_username()
            self.fields["name"].initial = user.get_full_name()

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip().lower()
        self.matched_user: Any = None
        if self.instance.pk and email == str(self.fields["email"].initial or "").lower():
            # Only the role (or name) changed: the member stays the same account.
            self.matched_user = self.instance.user
            return email
        matches = list(
            User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).order_by("pk")
        )
        if len(matches) > 1:
            names = ", ".join(u.get_username() for u in matches[:5])
            raise forms.ValidationError(
                f"{len(matches)} accounts match this email ({names}): add this member from "
                "the Memberships page, where the account is chosen by name."
            )
        self.matched_user = matches[0] if matches else None
        return email

    def save(self, commit: bool = True) -> Membership:
        email = self.cleaned_data["email"]
        user = self.matched_user
        self.linked_user: Any = None
        if user is None:
            first, _, last = (self.cleaned_data.get("name") or "").strip().partition(" ")
            user = User(username=email, email=email, first_name=first, last_name=last.strip())
            user.set_unusable_password()
            user.save()
            self.created_user = user
        elif self.instance.user_id != user.pk:
            self.linked_user = user
        self.instance.user = user
        return super().save(commit)


class MemberFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            email = str(form.cleaned_data.get("email") or "")
            if email in seen:
                form.add_error("email", "This email is listed twice: each person is a member once.")
            seen.add(email)


class MembershipInline(TabularInline):
    model = Membership
    form = MemberForm
    formset = MemberFormSet
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members (by email; a new address gets an account and an invitation)"


def send_invitation(user: Any, customer: Customer) -> None:
    """Email a new account its link to choose a password (the password-reset link, whose
    token stays valid until a password is set or PASSWORD_RESET_TIMEOUT passes)."""
    link = settings.SITE_URL + reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {"user": user, "customer": customer, "link": link}
    send_mail(
        render_to_string("registration/invitation_subject.txt", context).strip(),
        render_to_string("registration/invitation_email.html", context),
        None,
        [user.email],
    )


@admin.register(Customer)
class CustomerAdmin(ModelAdmin):
    list_display = ["name", "key", "agreement_count", "created_at"]
    search_fields = ["name", "key"]
    inlines = [MembershipInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        created = [f.created_user for f in formset.forms if getattr(f, "created_user", None)]
        for user in created:
            # Sent once the customer and its members are stored, not before.
            transaction.on_commit(partial(send_invitation, user, form.instance))
        if created:
            self.message_user(
                request,
                f"Created {len(created)} account(s) and sent each an invitation: "
                + ", ".join(u.email for u in created),
            )
        linked = [f.linked_user for f in formset.forms if getattr(f, "linked_user", None)]
        if linked:
            # An existing account now sees this customer too: say whose, and what else
            # it sees, so a mistyped address is noticed at once.
            words = []
            for user in linked:
                others = (
                    Membership.objects.filter(user=user)
                    .exclude(customer=form.instance)
                    .values_list("customer__name", flat=True)
                )
                also = f", also a member of {', '.join(others)}" if others else ""
                staff = " (staff)" if user.is_staff else ""
                words.append(f"{user.get_username()}{staff}{also}")
            self.message_user(
                request,
                f"Gave {len(linked)} existing account(s) access to {form.instance}: "
                + "; ".join(words),
                messages.WARNING,
            )

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


def parse_tier_text(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """Tiers written ``"99.9: 10; 99: 25"`` (``below: percent``, ``;`` or new lines
    between) as the document's list ``[{"below": "99.9", "percent": "10"}, ...]``, and a
    sentence for each part that is not ``below: percent``."""
    tiers: list[dict[str, str]] = []
    errors: list[str] = []
    parts = [p.strip() for p in text.replace("\n", ";").split(";") if p.strip()]
    for i, part in enumerate(parts, start=1):
        below, sep, percent = part.replace("%", "").partition(":")
        if not sep or not below.strip() or not percent.strip():
            errors.append(f"Tier {i} ({part!r}): write it as below: percent, e.g. 99.9: 10.")
            continue
        tiers.append({"below": below.strip().lstrip("<").strip(), "percent": percent.strip()})
    return tiers, errors


def tier_words(path: str, message: str) -> str:
    """A document error on ``credits[i].field`` as a sentence naming the tier (1-based)."""
    head, _, field = path.partition("].")
    index = head.rpartition("[")[2]
    if index.isdigit():
        return f"Tier {int(index) + 1} ({field or 'tier'}): {message}."
    return f"{message}."


class ObjectiveForm(forms.ModelForm):
    """An objective with its credit tiers as one line, checked as the document is."""

    credit_tiers = forms.CharField(
        required=False,
        label="Credit tiers",
        widget=forms.TextInput(attrs={"size": 28}),
        help_text="below: percent, highest first, e.g. 99.9: 10; 99: 25",
    )

    class Meta:
        model = Objective
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
            "credit_tiers",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["credit_tiers"].initial = "; ".join(
                f"{display.plain(t.below)}: {display.plain(t.percent)}"
                for t in self.instance.tiers.order_by("-below")
            )

    def clean_credit_tiers(self) -> list[dict[str, Any]]:
        tiers, errors = parse_tier_text(self.cleaned_data.get("credit_tiers") or "")
        checked, problems = check_credit_tiers(tiers)
        errors += [tier_words(path, message) for path, message in problems]
        indicator = self.cleaned_data.get("indicator") or self.instance.indicator
        if tiers and indicator in BOUNDED_INDICATORS:
            errors.append(
                "A bounded value's credits are in its own unit: change them in the "
                "agreement's document."
            )
        if errors:
            raise forms.ValidationError(errors)
        return checked

    def save_tiers(self) -> bool:
        """Replace the objective's tier rows by the edited ones; True when they changed."""
        if "credit_tiers" not in self.changed_data or not self.instance.pk:
            return False
        self.instance.tiers.all().delete()
        CreditTier.objects.bulk_create(
            CreditTier(objective=self.instance, below=t["below"], percent=t["percent"])
            for t in self.cleaned_data["credit_tiers"]
        )
        return True


class ObjectiveInline(TabularInline):
    model = Objective
    form = ObjectiveForm
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
        "credit_tiers",
    ]
    show_change_link = True


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

    actions = ["recompute_now"]

    @admin.action(description="Recompute now (open periods of the selected agreements)")
    def recompute_now(self, request: HttpRequest, queryset: Any) -> None:
        self._queue_recompute(request, list(queryset.values_list("pk", flat=True)))

    def _queue_recompute(self, request: HttpRequest, ids: list[int]) -> None:
        from kombu.exceptions import OperationalError

        from credits.tasks import recompute_now

        try:
            queued = recompute_now(ids)
        except OperationalError as error:
            self.message_user(
                request,
                f"The task queue cannot be reached, nothing queued: {error}",
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            f"Queued a recompute of the open periods of {queued} agreement(s); "
            "closed periods stay as they are.",
            messages.SUCCESS,
        )

    def recompute_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        agreement = self.get_object(request, object_id)
        if agreement is None or not self.has_change_permission(request, agreement):
            return HttpResponseRedirect(reverse("admin:agreements_agreement_changelist"))
        if request.method == "POST":
            self._queue_recompute(request, [agreement.pk])
        return HttpResponseRedirect(
            reverse("admin:agreements_agreement_change", args=[agreement.pk])
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="agreements_agreement_import",
            ),
            path(
                "<path:object_id>/recompute/",
                self.admin_site.admin_view(self.recompute_view),
                name="agreements_agreement_recompute",
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

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        deleted = set(map(id, getattr(formset, "deleted_forms", [])))
        for inline_form in formset.forms:
            if isinstance(inline_form, ObjectiveForm) and id(inline_form) not in deleted:
                inline_form.save_tiers()

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


class TierFormSet(forms.BaseInlineFormSet):
    """The objective's tier rows, checked as the document's ``credits`` list."""

    def clean(self) -> None:
        super().clean()
        rows = [
            f.cleaned_data
            for f in self.forms
            if getattr(f, "cleaned_data", None)
            and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("below") is not None
            and f.cleaned_data.get("percent") is not None
        ]
        rows.sort(key=lambda r: r["below"], reverse=True)
        tiers = [
            {"below": display.plain(r["below"]), "percent": display.plain(r["percent"])}
            for r in rows
        ]
        _, problems = check_credit_tiers(tiers)
        if problems:
            raise forms.ValidationError([f"Highest first: {tier_words(p, m)}" for p, m in problems])


@admin.register(Objective)
class ObjectiveAdmin(ModelAdmin):
    list_display = ["__str__", "indicator", "service", "target", "calendar"]
    list_filter = ["indicator", "agreement__customer"]
    search_fields = ["key", "agreement__key", "service__key"]
    list_select_related = ["agreement", "service", "calendar"]

    class TierInline(TabularInline):
        model = CreditTier
        formset = TierFormSet
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
