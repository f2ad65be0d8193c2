"""Pages: notification settings per agreement, and acknowledging an escalation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from agreements.models import Agreement
from notifications.models import EVENT_TYPES, Escalation, EventType, Preference
from notifications.services.digests import preference_save, wanted_events
from notifications.services.escalation import escalation_acknowledge, read_ack_token


def _member_agreement(request: HttpRequest, key: str, *, staff: bool) -> Agreement:
    """Scope first: an agreement of another customer is a 404, never a 403."""
    user: Any = request.user
    queryset = Agreement.objects.select_related("customer")
    if not (staff and user.is_staff):
        queryset = queryset.filter(customer__memberships__user=user)
    return get_object_or_404(queryset.distinct(), key=key)


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest, key: str) -> HttpResponse:
    # Preferences are per member: staff who are not members have none to set.
    agreement = _member_agreement(request, key, staff=False)
    user: Any = request.user
    preference = Preference.objects.filter(agreement=agreement, user=user).first()
    if request.method == "POST":
        chosen = [t for t in request.POST.getlist("events") if t in EVENT_TYPES]
        preference_save(agreement=agreement, user=user, events=chosen)
        messages.success(request, "Your notification settings are saved.")
        return HttpResponseRedirect(reverse("notifications:settings", args=[agreement.key]))
    wanted = set(wanted_events(preference))
    choices = [
        {"value": value, "label": label, "checked": value in wanted}
        for value, label in EventType.choices
    ]
    return render(
        request,
        "notifications/settings.html",
        {
            "agreement": agreement,
            "choices": choices,
            "has_email": bool(user.email),
            "defaults": preference is None,
        },
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    agreement = _member_agreement(request, key, staff=True)
    escalation = get_object_or_404(Escalation.objects.filter(agreement=agreement), pk=pk)
    escalation_acknowledge(
        escalation_id=escalation.pk,
        actor=request.user.get_username(),
        via=Escalation.Via.PORTAL,
        now=timezone.now(),
    )
    messages.success(request, f"Escalation acknowledged: {escalation.subject}")
    return HttpResponseRedirect(reverse("agreement", args=[agreement.key]))


@require_http_methods(["GET", "POST"])
def acknowledge_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link of an escalation email. GET only shows a button: mail scanners
    that open links must not acknowledge anything; the POST does."""
    try:
        escalation_id, contact = read_ack_token(token)
    except signing.SignatureExpired:
        return render(request, "notifications/ack.html", {"invalid": "expired"}, status=410)
    except signing.BadSignature:
        return render(request, "notifications/ack.html", {"invalid": "bad"}, status=404)
    escalation = get_object_or_404(Escalation.objects.select_related("agreement"), pk=escalation_id)
    if request.method == "POST":
        escalation = escalation_acknowledge(
            escalation_id=escalation.pk,
            actor=contact,
            via=Escalation.Via.EMAIL,
            now=timezone.now(),
        )
    return render(
        request,
        "notifications/ack.html",
        {"escalation": escalation, "contact": contact, "token": token},
    )
