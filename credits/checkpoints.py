"""Checkpoints: an open period's counts over its settled past, so that recomputing reads
only what is new (see ``Checkpoint``).

A checkpoint covers [period start, through) where ``through`` is the UTC midnight before
``now - SETTLE_MARGIN``. Measurements older than the current UTC day delete the
checkpoints they fall into, in the transaction that stores them and after taking the
agreements' locks, so a recompute running at the same moment cannot leave behind a
checkpoint that misses them: the recompute holds those locks until it commits, and its
checkpoint is deleted right after. Measurements of the current UTC day need nothing:
no checkpoint reaches that far (the margin outlasts any ingestion transaction).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from django.utils import timezone

from agreements import engine
from agreements.models import Agreement
from credits.models import Checkpoint, Period

SETTLE_MARGIN = dt.timedelta(minutes=15)
DAY = dt.timedelta(days=1)


class Counted(NamedTuple):
    """What one objective counted over [period start, through) of its covered time."""

    through: dt.datetime
    fingerprint: str
    first: int
    second: int


Saved = dict[str, Counted]  # objective key -> its checkpoint


def utc_midnight(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def settled_until(now: dt.datetime) -> dt.datetime:
    return utc_midnight(now - SETTLE_MARGIN)


def fingerprint(
    *, kind: str, service_id: int, threshold: int | None, covered: Sequence[engine.Interval]
) -> str:
    text = f"{kind}|{service_id}|{threshold}|" + ";".join(
        f"{a.isoformat()},{b.isoformat()}" for a, b in covered
    )
    return hashlib.sha256(text.encode()).hexdigest()


def saved_for(period_ids: Iterable[int]) -> dict[int, Saved]:
    """The checkpoints of these periods: period id -> objective key -> saved counts."""
    out: dict[int, Saved] = {}
    for c in Checkpoint.objects.filter(period_id__in=list(period_ids)).values_list(
        "period_id", "objective_key", "through", "fingerprint", "first", "second", named=True
    ):
        out.setdefault(c.period_id, {})[c.objective_key] = Counted(
            c.through, c.fingerprint, c.first, c.second
        )
    return out


def save(by_period: Mapping[int, Saved], now: dt.datetime) -> None:
    """Store the checkpoints of these periods (period id -> objective key -> counts),
    replacing any of the same period and objective."""
    rows = [
        Checkpoint(
            period_id=period_id,
            objective_key=key,
            through=counted.through,
            fingerprint=counted.fingerprint,
            first=counted.first,
            second=counted.second,
            computed_at=now,
        )
        for period_id, saved in by_period.items()
        for key, counted in saved.items()
    ]
    if not rows:
        return
    Checkpoint.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["period", "objective_key"],
        update_fields=["through", "fingerprint", "first", "second", "computed_at"],
    )


def invalidate(*, service_ids: Iterable[int], since: dt.datetime) -> int:
    """Delete the checkpoints that measurements of these services from ``since`` on fall
    into. Runs inside the storing transaction; returns how many were deleted."""
    if since >= utc_midnight(timezone.now()):
        return 0  # today's data: no checkpoint reaches it
    ids = list(
        Agreement.objects.filter(objectives__service_id__in=list(service_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    if not ids:
        return 0
    # Waits for any recompute of these agreements to commit (recomputes lock them in the
    # same order), so the checkpoint it wrote is seen and deleted here.
    list(Agreement.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    deleted, _ = Checkpoint.objects.filter(
        period__in=Period.objects.open().filter(agreement_id__in=ids), through__gt=since
    ).delete()
    return deleted
