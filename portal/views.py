"""Customer-facing pages."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from agreements.models import Agreement


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    agreements = (
        Agreement.objects.visible_to(request.user)
        .select_related("customer")
        .prefetch_related("objectives")
        .order_by("customer__name", "key")
        .distinct()
    )
    return render(request, "portal/dashboard.html", {"agreements": agreements})


@login_required
def agreement_detail(request: HttpRequest, key: str) -> HttpResponse:
    # Scope first: another customer's agreement is a 404, never a 403.
    agreement = get_object_or_404(
        Agreement.objects.visible_to(request.user).select_related("customer").distinct(), key=key
    )
    objectives = agreement.objectives.select_related("service", "calendar").prefetch_related(
        "tiers"
    )
    return render(
        request, "portal/agreement.html", {"agreement": agreement, "objectives": objectives}
    )


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "internal error; it has been logged"}, status=500)
    return render(request, "500.html", status=500)
