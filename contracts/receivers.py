"""A closed period sends its monthly report (after commit, from a worker)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from credits import signals as credit_signals

log = logging.getLogger(__name__)


@receiver(credit_signals.period_closed, dispatch_uid="contracts-monthly-report")
def _on_period_closed(sender: Any, *, period: Any, **_: Any) -> None:
    from contracts.tasks import send_monthly_report

    try:
        send_monthly_report.delay(period.pk)
    except Exception:  # a broker outage must not undo or fail the close; admin can resend
        log.exception("contracts: monthly report of period %s not queued", period.pk)
