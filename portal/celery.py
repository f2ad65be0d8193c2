"""The Celery application and the one place where periodic tasks are declared."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Tasks the broker cannot take are kept in the database and sent later (portal.outbox).
app = Celery("portal", task_cls="portal.outbox:FallbackTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _declare_periodic_tasks(sender: Celery, **_: object) -> None:
    from django.conf import settings

    for name, schedule in beat_schedule(settings).items():
        sender.conf.beat_schedule[name] = schedule


def beat_schedule(settings: Any) -> dict[str, dict[str, object]]:
    """Every periodic task of the portal, in one place."""
    interval = settings.RECOMPUTE_INTERVAL_SECONDS
    return {
        "recompute-open-periods": {"task": "credits.tasks.recompute_all", "schedule": interval},
        "close-periods": {"task": "credits.tasks.close_periods", "schedule": 300.0},
        "create-probe-partitions": {
            "task": "metrics.tasks.ensure_partitions",
            "schedule": 6 * 3600.0,
        },
        "prune-raw-measurements": {"task": "metrics.tasks.prune_raw", "schedule": 24 * 3600.0},
        "extend-maintenance-series": {
            "task": "metrics.tasks.extend_maintenance_series",
            "schedule": 24 * 3600.0,
        },
        "prune-integration-deliveries": {
            "task": "integrations.tasks.prune_deliveries",
            "schedule": 24 * 3600.0,
        },
        "pull-prometheus": {"task": "integrations.tasks.pull_prometheus", "schedule": 60.0},
        "expire-claims": {"task": "credits.tasks.expire_claims", "schedule": 3600.0},
        "escalate": {"task": "notifications.tasks.escalate", "schedule": 60.0},
        "send-pending-tasks": {"task": "portal.tasks.send_pending_tasks", "schedule": 60.0},
        # Hourly, so each zone's new local day is seen soon after it starts.
        "contract-life": {"task": "contracts.tasks.contract_life_daily", "schedule": 3600.0},
    }
