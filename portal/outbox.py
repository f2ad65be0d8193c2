"""Enqueueing that survives the broker being down.

Every task of the portal is enqueued through ``FallbackTask.apply_async`` (the Celery
app's task class). When the broker does not take a task, the task is kept in the
database as a ``PendingTask`` and a warning is logged; beat's ``send_pending_tasks``
sends it once the broker is back. After a failure the broker is not tried again for
``RETRY_SECONDS``, so requests do not each wait on a connection attempt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from typing import Any

from celery import Task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

RETRY_SECONDS = 10.0
BROKER_DOWN = (OperationalError, ConnectionError, OSError, TimeoutError)
# Rows sent per pass of send_pending_tasks.
BATCH = 500

_down_until = 0.0


class FallbackTask(Task):  # type: ignore[misc]
    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, **options)
        global _down_until
        if time.monotonic() >= _down_until:
            try:
                return super().apply_async(args, kwargs, **options)
            except BROKER_DOWN as error:
                if time.monotonic() >= _down_until:
                    log.warning("broker unreachable, keeping tasks in the database: %s", error)
                _down_until = time.monotonic() + RETRY_SECONDS
                keep(self.name, args, kwargs, options, error=str(error))
                return None
        keep(self.name, args, kwargs, options, error="broker unreachable a moment ago")
        return None


def keep(name: str, args: Any, kwargs: Any, options: dict[str, Any], *, error: str = "") -> Any:
    from portal.models import PendingTask  # the task class loads before the models

    args, kwargs = list(args or ()), dict(kwargs or {})
    now = timezone.now()
    not_before = now
    if options.get("eta") is not None:
        not_before = options["eta"]
    elif options.get("countdown"):
        not_before = now + dt.timedelta(seconds=float(options["countdown"]))
    identity = json.dumps([name, args, kwargs], sort_keys=True, default=str)
    row, _ = PendingTask.objects.get_or_create(
        digest=hashlib.sha256(identity.encode()).hexdigest(),
        defaults={
            "name": name,
            "args": args,
            "kwargs": kwargs,
            "not_before": not_before,
            "created_at": now,
            "error": error[:500],
        },
    )
    return row


def send_pending(*, now: dt.datetime) -> int:
    """Send kept tasks to the broker; a failure rolls back and keeps them all."""
    from portal.celery import app
    from portal.models import PendingTask

    with transaction.atomic():
        rows = list(PendingTask.objects.select_for_update(skip_locked=True)[:BATCH])
        for row in rows:
            countdown = max(0.0, (row.not_before - now).total_seconds())
            app.send_task(row.name, row.args, row.kwargs, countdown=countdown or None)
        PendingTask.objects.filter(pk__in=[row.pk for row in rows]).delete()
    if rows:
        log.info("sent %d tasks kept while the broker was down", len(rows))
    return len(rows)
