"""Recording an event: stored at most once, and only when new, queued for delivery.

Every event is recorded through ``record_event``, which stores it at most once (unique
idempotency key) and, only when it is new, queues what follows from it: email for the
members who chose it and webhook deliveries for the endpoints that want it. Escalation
is started by the callers that know the event calls for one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agreements.models import Agreement
from notifications.models import Event
from notifications.services.digests import queue_email
from notifications.services.webhook_deliveries import queue_webhooks

_BACKFILL: ContextVar[bool] = ContextVar("notifications_backfill", default=False)


@contextmanager
def backfill() -> Iterator[None]:
    """Inside this block (and the commit of any transaction ending in it), events are
    stored but neither emailed nor sent to webhooks: loading months of history at once
    (the demo data) is not news to anyone."""
    token = _BACKFILL.set(True)
    try:
        yield
    finally:
        _BACKFILL.reset(token)


def record_event(
    *,
    agreement: Agreement,
    type: str,
    key: str,
    occurred_at: dt.datetime,
    summary: str,
    data: dict[str, Any],
    objective_key: str = "",
) -> Event | None:
    """Store an event once; None when its key is already known (nothing else happens).

    ``key`` is the idempotency key (cut to 200 characters). The stored payload is
    ``{"agreement": key, "customer": key, **data}`` made JSON-safe (other values become
    strings). A new event queues its digest email and webhook deliveries in the same
    transaction; the sending itself runs after commit.
    """
    key = key[:200]
    if Event.objects.filter(idempotency_key=key).exists():
        return None
    payload = {"agreement": agreement.key, "customer": agreement.customer.key, **data}
    try:
        with transaction.atomic():
            event = Event.objects.create(
                agreement=agreement,
                type=type,
                objective_key=objective_key,
                occurred_at=occurred_at,
                summary=summary[:300],
                payload=json.loads(json.dumps(payload, default=str)),
                idempotency_key=key,
                created_at=timezone.now(),
            )
            if not _BACKFILL.get():
                queue_email(event)
                queue_webhooks(event)
    except IntegrityError:
        # Another worker stored it between our check and our insert: still exactly once.
        if Event.objects.filter(idempotency_key=key).exists():
            return None
        raise
    return event
