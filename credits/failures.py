"""Bulkheads: one agreement's failure never stops another's recompute or closing.

A failure is logged, recorded (``credits.models.Failure``, shown in admin with the
agreement named) and retried by the next pass of beat; the first success resolves it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F

from credits.models import Failure

log = logging.getLogger(__name__)


def record_failure(
    *, agreement_id: int, stage: str, error: BaseException, now: dt.datetime, period: str = ""
) -> None:
    """Log ``error`` and keep it as the agreement's open failure at ``stage`` (in its own
    transaction: the failed work has been rolled back)."""
    log.error(
        "%s of agreement %s%s failed; the others go on",
        stage,
        agreement_id,
        f" period {period}" if period else "",
        exc_info=error,
    )
    text = f"{type(error).__name__}: {error}"[:1000]
    for _ in range(2):
        try:
            with transaction.atomic():
                updated = Failure.objects.filter(
                    agreement_id=agreement_id, stage=stage, period=period, resolved_at__isnull=True
                ).update(error=text, last_at=now, attempts=F("attempts") + 1)
                if not updated:
                    Failure.objects.create(
                        agreement_id=agreement_id,
                        stage=stage,
                        period=period,
                        error=text,
                        first_at=now,
                        last_at=now,
                    )
            return
        except IntegrityError:
            continue  # another worker recorded the same failure a moment ago: update it


def resolve_failures(
    *, agreement_ids: Iterable[int], stage: str, now: dt.datetime, period: str | None = None
) -> None:
    """Mark the open failures of these agreements at ``stage`` resolved (they succeeded)."""
    found = Failure.objects.filter(
        agreement_id__in=list(agreement_ids), stage=stage, resolved_at__isnull=True
    )
    if period is not None:
        found = found.filter(period=period)
    found.update(resolved_at=now)
