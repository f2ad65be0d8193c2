"""Template helpers for the agreement page's escalation panel (one query)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.db.models import Q
from django.utils import timezone

from notifications.models import Escalation

register = template.Library()

# Resolved escalations stay on the page for a day, so the customer sees how it ended.
RECENTLY_RESOLVED = dt.timedelta(days=1)


@register.simple_tag
def escalations_for(agreement: Any) -> list[Escalation]:
    since = timezone.now() - RECENTLY_RESOLVED
    return list(
        Escalation.objects.filter(agreement_id=agreement.pk)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .order_by("-started_at", "-id")[:20]
    )
