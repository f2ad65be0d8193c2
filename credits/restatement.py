"""Restating a closed period (SPEC §3 rule 13): new figures beside the old, and the
ledger told, never edited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from credits import ledger
from credits.evaluation import evaluate
from credits.models import Period, Restatement
from credits.storage import set_credit, store_evaluations
from credits.tasks import schedule_recompute


class RestateError(ValueError):
    pass


@transaction.atomic
def restate_period(
    *, period_id: int, actor: str, reason: str, now: dt.datetime | None = None
) -> Period:
    """Re-evaluate a closed period (rule 13) under the terms it was closed with.

    The new figures are stored as a new revision beside the old ones, and the request is
    kept as a Restatement. When the credit changes, the ledger is told, never edited: it
    gets a reversal of the credit in force and a credit of the restated amount, and a
    claim not yet approved is superseded by a new one. When the amount is unchanged,
    nothing at all is appended to the ledger or the claims (rule 13).
    """
    now = now or timezone.now()
    if not reason.strip():
        raise RestateError("reason: a restatement needs a reason")
    row = (
        Period.objects.select_for_update()
        .select_related("agreement", "terms_version")
        .get(pk=period_id)
    )
    if not row.is_closed:
        raise RestateError(f"period {row.period} is still open: it is recomputed automatically")
    result = evaluate(
        agreement=row.agreement,
        period=row.period,
        version=row.terms_version,
        now=max(now, row.end),
        closed=True,
    )
    if result is None:
        raise RestateError(f"period {row.period} has no time inside the agreement's dates")
    old_revision, old_amount = row.revision, row.credit_amount or Decimal(0)
    row.revision = old_revision + 1
    store_evaluations([(row, result)], now)
    set_credit(row, result)
    row.computed_at = now
    row.late_data = False
    row.save()
    Restatement.objects.create(
        period=row,
        from_revision=old_revision,
        to_revision=row.revision,
        previous_amount=old_amount,
        new_amount=result.credit,
        reason=reason.strip(),
        created_by=actor,
        created_at=now,
    )
    if result.credit != old_amount:
        ledger.on_period_restated(period=row, actor=actor, reason=reason.strip(), now=now)
    ledger.enter_bonus(period=row, now=now, actor=actor, reason=reason.strip())
    # A volume commitment's shortfall carried into the next period may have changed
    # (rule 17): the open period is recomputed from the restated figures.
    transaction.on_commit(partial(schedule_recompute, [row.agreement_id]))
    return row
