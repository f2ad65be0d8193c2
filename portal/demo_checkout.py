"""Outages of the demo's end-to-end checkout (rule 18): two suppliers' services, the
first month the issue's example (down 10 and 20 minutes, overlapping by 5) and a longer
payments outage that costs a credit; a clean month that earns the bonus."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from agreements.models import Service


def checkout_incidents(at: Callable[[float], dt.datetime]) -> list[tuple[Any, ...]]:
    """Incident rows ``(service id, external id, title, impact, start, end)``; ``at``
    turns days since the demo's first month into an instant."""
    ids = dict(
        Service.objects.filter(key__in=["web-frontend", "payments-gateway"]).values_list(
            "key", "id"
        )
    )
    if len(ids) < 2:
        return []
    web, pay = ids["web-frontend"], ids["payments-gateway"]
    minutes = dt.timedelta(minutes=1)
    return [
        (web, "WEB-11", "Frontend deploy failed", "outage", at(3.5), at(3.5) + 10 * minutes),
        (
            pay,
            "PAY-21",
            "Card payments declined",
            "outage",
            at(3.5) + 5 * minutes,
            at(3.5) + 25 * minutes,
        ),
        (pay, "PAY-22", "Payment gateway unreachable", "outage", at(17.2), at(17.2) + 60 * minutes),
        (web, "WEB-12", "Frontend cache flush", "outage", at(70.4), at(70.4) + 3 * minutes),
    ]
