"""Claims of credits when an agreement has a claim window (rule 14)."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import transaction

from credits import signals
from credits.ledger import LedgerError, _enter
from credits.models import Claim, ClaimEvent, LedgerEntry


def _event(claim: Claim, now: dt.datetime, actor: str, note: str = "") -> None:
    ClaimEvent.objects.create(claim=claim, at=now, state=claim.state, actor=actor, note=note)
    transaction.on_commit(partial(signals.claim_changed.send, sender=Claim, claim=claim, at=now))


@transaction.atomic
def claim_submit(*, claim_id: int, actor: str, now: dt.datetime) -> Claim:
    claim = Claim.objects.select_for_update().get(pk=claim_id)
    if claim.state != Claim.State.CLAIMABLE:
        raise LedgerError(f"this credit is {claim.get_state_display().lower()}, not claimable")
    if now > claim.claimable_until:
        raise LedgerError("the claim window has passed")
    claim.state, claim.claimed_at, claim.claimed_by = Claim.State.CLAIMED, now, actor
    claim.save()
    _event(claim, now, actor)
    return claim


@transaction.atomic
def claim_decide(
    *, claim_id: int, approve: bool, actor: str, now: dt.datetime, reason: str = ""
) -> Claim:
    claim = Claim.objects.select_for_update().select_related("agreement", "period").get(pk=claim_id)
    if claim.state != Claim.State.CLAIMED:
        raise LedgerError(f"only claimed credits can be decided (this one is {claim.state})")
    if not approve and not reason.strip():
        raise LedgerError("a rejection needs a reason")
    claim.decided_at, claim.decided_by, claim.reason = now, actor, reason.strip()
    claim.state = Claim.State.APPROVED if approve else Claim.State.REJECTED
    claim.save()
    if approve:
        _enter(
            key=f"credit:{claim.period_id}:r{claim.revision}",
            agreement=claim.agreement,
            kind=LedgerEntry.Kind.CREDIT,
            amount=claim.amount,
            currency=claim.currency,
            period=claim.period,
            revision=claim.revision,
            created_at=now,
            created_by=actor,
            reason=f"claim for {claim.period.period} approved",
        )
    _event(claim, now, actor, reason)
    return claim


def expire_claims(*, now: dt.datetime) -> int:
    count = 0
    for claim_id in Claim.objects.filter(
        state=Claim.State.CLAIMABLE, claimable_until__lt=now
    ).values_list("id", flat=True):
        with transaction.atomic():
            claim = Claim.objects.select_for_update().get(pk=claim_id)
            if claim.state == Claim.State.CLAIMABLE:
                claim.state = Claim.State.EXPIRED
                claim.save()
                _event(claim, now, "system", "claim window passed")
                count += 1
    return count
