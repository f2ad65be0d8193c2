"""Listens to the layers above (metrics, credits); they never import notifications.

Their signals are sent after commit. A notification problem is logged and never
propagates into the recompute, ingestion or ledger code that sent the signal.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.dispatch import receiver

from credits import signals as credit_signals
from metrics import signals as metric_signals
from notifications import tasks
from notifications.services import credit_events, metric_events

log = logging.getLogger(__name__)


def _guarded(func: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            log.exception("notifications: %s failed", func.__name__)

    return wrapper


@receiver(credit_signals.objective_status_changed, dispatch_uid="notifications-objective")
@_guarded
def _on_objective_status(
    sender: Any, *, period: Any, objective_key: str, current: str, at: Any, **_: Any
) -> None:
    # Handed to a worker: the events, escalations and emails that follow are no part of
    # the recompute that noticed the change, and must not slow it down.
    tasks.handle_objective_status_change.delay(period.pk, objective_key, current, at.isoformat())


@receiver(credit_signals.period_closed, dispatch_uid="notifications-period-closed")
@_guarded
def _on_period_closed(sender: Any, *, period: Any, at: Any, **_: Any) -> None:
    credit_events.period_closed(period_id=period.pk, at=at)


@receiver(credit_signals.credit_entered, dispatch_uid="notifications-credit")
@_guarded
def _on_credit(sender: Any, *, entry: Any, **_: Any) -> None:
    credit_events.credit_entered(entry_id=entry.pk)


@receiver(credit_signals.claim_changed, dispatch_uid="notifications-claim")
@_guarded
def _on_claim(sender: Any, *, claim: Any, at: Any, **_: Any) -> None:
    credit_events.claim_changed(claim_id=claim.pk, state=claim.state, at=at)


@receiver(metric_signals.incident_changed, dispatch_uid="notifications-incident")
@_guarded
def _on_incident(sender: Any, *, instance: Any, created: bool, changes: Any, **_: Any) -> None:
    # Handed to a worker, like objective changes: a webhook of 1,000 alerts must not wait
    # for a thousand rounds of events and escalations.
    tasks.handle_incident_change.delay(instance.pk, created, dict(changes))


@receiver(metric_signals.maintenance_changed, dispatch_uid="notifications-maintenance")
@_guarded
def _on_maintenance(sender: Any, *, instance: Any, created: bool, changes: Any, **_: Any) -> None:
    metric_events.maintenance_changed(
        maintenance_id=instance.pk, created=created, changes=dict(changes)
    )
