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
# The panel shows the latest escalations only; older ones are in admin.
PANEL_LIMIT = 20
# The columns the panel shows (and the primary key, for the acknowledge form).
PANEL_FIELDS = (
    "subject",
    "started_at",
    "level_notified",
    "next_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolution",
)


# Read on every view of the agreement page. Built by the ORM so the columns follow the
# model (a renamed field fails here, not in production); building and compiling the query
# costs about a millisecond a view, which bench/portal.py measures with the whole page.
@register.simple_tag
def escalations_for(agreement: Any) -> list[Escalation]:
    """The agreement's open escalations and those resolved in the last day, newest first.

    At most ``PANEL_LIMIT``; only the panel's fields are loaded (others are deferred).
    """
    since = timezone.now() - RECENTLY_RESOLVED
    return list(
        Escalation.objects.filter(agreement_id=agreement.pk)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .only(*PANEL_FIELDS)
        .order_by("-started_at", "-id")[:PANEL_LIMIT]
    )
