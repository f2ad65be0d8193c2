"""Template helpers for the agreement page's escalation panel (one query)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.db import connection
from django.utils import timezone

from notifications.models import Escalation

register = template.Library()

# Resolved escalations stay on the page for a day, so the customer sees how it ended.
RECENTLY_RESOLVED = dt.timedelta(days=1)


# Read on every view of the agreement page: plain SQL of the columns the panel shows (the
# ORM would compile the same query again each time, which costs more than running it).
_ESCALATIONS_SQL = """
    SELECT id, subject, started_at, level_notified, next_at, acknowledged_at,
           acknowledged_by, resolved_at, resolution
    FROM notifications_escalation
    WHERE agreement_id = %s AND (resolved_at IS NULL OR resolved_at >= %s)
    ORDER BY started_at DESC, id DESC LIMIT 20"""


@register.simple_tag
def escalations_for(agreement: Any) -> list[Escalation]:
    since = connection.ops.adapt_datetimefield_value(timezone.now() - RECENTLY_RESOLVED)
    return list(Escalation.objects.raw(_ESCALATIONS_SQL, [agreement.pk, since]))
