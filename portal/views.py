"""Customer-facing pages: accounts, dashboard, agreement page, claims and statements.

Scope first, then fetch: every agreement is looked up through ``visible_agreements``,
so another customer's agreement (or anything under it) is a 404, never a 403.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements import display
from agreements.models import Agreement
from contracts.views import life_of, with_life_flags
from credits.claims import claim_submit
from credits.ledger import LedgerError
from credits.models import Claim
from credits.statements import statement_of
from credits.terms import Terms
from credits.tickets import ticket_board, ticket_objectives, tickets_stamp_key
from portal import health, limits
from portal.pages import dashboard as dashboard_page
from portal.pages.agreement import AgreementPage
from portal.pages.live import claims_of, documents_of, ledger_of
from portal.pages.scoping import cache_version, can_claim, visible_agreements, with_cache_stamp
from portal.statements import statement_csv, statement_pdf

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def _login_locked(request: HttpRequest) -> HttpResponse:
    context = {
        "form": AuthenticationForm(request),
        "locked_minutes": settings.LOGIN_LOCK_MINUTES,
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)


def _admin_login_locked(request: HttpRequest) -> HttpResponse:
    # What the admin's own login page shows, plus the lock (templates/admin/login.html).
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "form": AdminAuthenticationForm(request),
        "locked_minutes": settings.LOGIN_LOCK_MINUTES,
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME) or reverse("admin:index"),
    }
    return TemplateResponse(request, "admin/login.html", context, status=429)


# Both sign-in pages share one lockout: failures on either count for the pair.
login = limits.guard_sign_in(LoginView.as_view(), locked=_login_locked)
admin_login = limits.guard_sign_in(admin.site.login, locked=_admin_login_locked)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, limited per address and per account (settings.PASSWORD_RESET_*).

    The answer never depends on whether an account has the email: past the account's
    limit the page says the link was sent, as it does for an unknown address; past the
    address's limit every email gets the same 429.
    """

    def form_valid(self, form: Any) -> HttpResponse:
        if not limits.reset_allowed_from(self.request):
            context = self.get_context_data(
                form=form, too_many_minutes=settings.PASSWORD_RESET_WINDOW_MINUTES
            )
            return self.render_to_response(context, status=429)
        if not limits.reset_allowed_for(form.cleaned_data["email"]):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def _agreement(request: HttpRequest, key: str) -> Agreement:
    return get_object_or_404(visible_agreements(request.user), key=key)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    agreements = list(visible_agreements(request.user).order_by("customer__name", "key"))
    summaries = dashboard_page.dashboard(agreements, now)
    context: dict[str, Any] = {"summaries": summaries, "now": now}
    if request.user.is_staff:
        context["overview"] = dashboard_page.budget_overview(summaries)
    return render(request, "portal/dashboard.html", context)


# How long the rendered sections of an agreement page are kept. Their key changes with
# every recompute and new terms, so this only bounds figures that age with the clock
# (durations "so far", upcoming maintenance) and the memory an old version holds.
SECTIONS_SECONDS = 600
SECTIONS = ("figures", "terms")
# How many open tickets the live panel lists; the tickets API lists them all.
TICKET_PANEL_ROWS = 50
# The panel is kept for the minute it shows; a little longer so the key outlives it.
TICKET_PANEL_SECONDS = 90


def agreement_sections(agreement: Agreement, now: dt.datetime) -> dict[str, Any]:
    """The parts of the agreement page that only change with its cache_version, rendered:
    one cache read when they are there, else rendered (the page's queries) and stored.
    They stay safe strings through the cache (pickled), so the page does not escape them.
    Under ``ticket_terms``, the terms the live ticket panel needs (None without tickets
    objectives), so the panel reads no terms on a hit."""
    key = f"agreement-sections:{cache_version(agreement)}"
    sections = cache.get(key)
    if sections is None:
        # Lazy: the figures are read only here, on a miss.
        page = AgreementPage(agreement, now)
        context = {"agreement": agreement, "page": page}
        sections = {
            name: render_to_string(f"portal/_agreement_{name}.html", context) for name in SECTIONS
        }
        sections["ticket_terms"] = page.terms if ticket_objectives(page.terms) else None
        cache.set(key, sections, SECTIONS_SECONDS)
    return sections


def ticket_panel(agreement: Agreement, terms: Terms | None, now: dt.datetime) -> str:
    """The live ticket panel, rendered ("" without ticket objectives). Due times and time
    left move with the clock, to the minute shown: the panel is kept for the minute it
    was rendered in, and only while none of the customer's tickets changed (their stamp,
    ``credits.tickets.tickets_changed``) nor the page's terms (``cache_version``). A hit
    is one cache round trip for the panel and the stamp."""
    if terms is None:
        return ""
    minute = now.replace(second=0, microsecond=0).isoformat()
    key = f"ticket-panel:{cache_version(agreement)}:{minute}"
    stamp_key = tickets_stamp_key(agreement.customer_id)
    found = cache.get_many([key, stamp_key])
    stamp = found.get(stamp_key)
    kept = found.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    board = ticket_board(agreement=agreement, terms=terms, now=now)
    context = {
        "board": board,
        "shown": board.open[:TICKET_PANEL_ROWS],
        "more": max(0, len(board.open) - TICKET_PANEL_ROWS),
    }
    html = render_to_string(
        "portal/_ticket_panel.html", {"agreement": agreement, "tickets": context}
    )
    cache.set(key, (stamp, html), TICKET_PANEL_SECONDS)
    return html


@login_required
def agreement_detail(request: HttpRequest, key: str) -> HttpResponse:
    agreement = get_object_or_404(
        with_life_flags(with_cache_stamp(visible_agreements(request.user))), key=key
    )
    now = timezone.now()
    entries, balance = ledger_of(agreement)
    sections = agreement_sections(agreement, now)
    return render(
        request,
        "portal/agreement.html",
        {
            "agreement": agreement,
            "sections": sections,
            "tickets": ticket_panel(agreement, sections["ticket_terms"], now),
            "entries": entries,
            "balance": balance,
            "claims": claims_of(agreement),
            "documents": documents_of(agreement),
            "can_claim": can_claim(agreement),
            "now": now,
            "life": life_of(agreement, now=now),
        },
    )


@login_required
@require_POST
def claim_credit(request: HttpRequest, key: str, claim_id: int) -> HttpResponse:
    agreement = _agreement(request, key)
    claim = get_object_or_404(Claim, pk=claim_id, agreement_id=agreement.pk)
    if not can_claim(agreement):
        return HttpResponseForbidden("Only a manager of this customer can claim credits.")
    try:
        claim_submit(claim_id=claim.pk, actor=request.user.get_username(), now=timezone.now())
    except LedgerError as error:
        messages.error(request, f"The credit for {claim.period.period} was not claimed: {error}.")
    else:
        messages.success(
            request,
            f"Claimed {display.money(claim.amount)} {claim.currency} for {claim.period.period}; "
            "the provider will review the claim.",
        )
    return redirect(f"{agreement_url(agreement)}#credits")


def agreement_url(agreement: Agreement) -> str:
    from django.urls import reverse

    return reverse("agreement", args=[agreement.key])


@login_required
@require_GET
def statement(request: HttpRequest, key: str, period: str, fmt: str) -> HttpResponse:
    agreement = _agreement(request, key)
    if not PERIOD.match(period):
        raise Http404("no such period")
    data = statement_of(agreement, period)
    if data is None:
        raise Http404("the period is open or unknown")
    name = f"statement-{agreement.key}-{period}.{fmt}"
    if fmt == "pdf":
        response = HttpResponse(statement_pdf(data), content_type="application/pdf")
    else:
        response = HttpResponse(statement_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def document_download(request: HttpRequest, key: str, pk: int) -> FileResponse:
    agreement = _agreement(request, key)
    document = get_object_or_404(agreement.documents.all(), pk=pk)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404("the file is missing") from missing
    filename = (document.file.name or "document").rsplit("/", 1)[-1]
    return FileResponse(handle, as_attachment=True, filename=filename)


def healthz(request: HttpRequest) -> JsonResponse:
    """Each dependency's state; 503 when any is down (the portal may still be serving,
    degraded: see the README on Redis being down)."""
    states = health.states()
    ok = all(state == "ok" for state in states.values())
    return JsonResponse(states, status=200 if ok else 503)


def trivial(request: HttpRequest) -> HttpResponse:
    """The benchmark's ceiling: a Django view doing nothing (routed only when asked)."""
    return HttpResponse("ok", content_type="text/plain")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "internal error; it has been logged"}, status=500)
    return render(request, "500.html", status=500)
