"""Shapes shared by events, emails and webhook bodies: JSON values, links, the body."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings

from notifications.models import Event


def site_url(path: str) -> str:
    """The absolute link (``SITE_URL`` + path) to a page, for emails."""
    return f"{settings.SITE_URL}{path}"


def json_number(value: Decimal | None) -> int | float | None:
    """Figures in payloads are JSON numbers, as in the compliance API."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def iso_utc(value: dt.datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in UTC with a ``Z`` suffix; None stays None."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: Event) -> dict[str, Any]:
    """The JSON body of a webhook delivery."""
    return {
        "id": str(event.uid),
        "type": event.type,
        "time": iso_utc(event.occurred_at),
        "agreement": event.agreement.key,
        "data": event.payload,
    }
