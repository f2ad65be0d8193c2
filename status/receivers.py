"""Listens to metrics' change signals (sent after commit): clears the cached status
outputs and tells the subscribers of public services. A problem here is logged and
never reaches the ingestion that sent the signal."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.dispatch import receiver

from metrics import signals
from status import publish, tasks

log = logging.getLogger(__name__)


def _guarded(func: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            log.exception("status: %s failed", func.__name__)

    return wrapper


@receiver(signals.incident_changed, dispatch_uid="status-incident")
@_guarded
def _on_incident(sender: Any, *, instance: Any, created: bool, changes: Any, **_: Any) -> None:
    publish.forget()
    if created and instance.resolved_at is None:
        tasks.notify_incident.delay(instance.pk, "opened")
    elif changes.get("resolved_at"):
        tasks.notify_incident.delay(instance.pk, "resolved")


@receiver(signals.incident_status_posted, dispatch_uid="status-update")
@_guarded
def _on_update(sender: Any, *, instance: Any, **_: Any) -> None:
    publish.forget()
    tasks.notify_update.delay(instance.pk)


@receiver(signals.maintenance_changed, dispatch_uid="status-maintenance")
@_guarded
def _on_maintenance(sender: Any, *, instance: Any, created: bool, **_: Any) -> None:
    publish.forget()
    # A recurring window is announced to subscribers once, by its first occurrence.
    if created and instance.series_id is None:
        tasks.notify_maintenance.delay(instance.pk)
