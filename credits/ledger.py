"""The credit ledger and claims (SPEC rules 12-14): append-only, exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Sum

from agreements.models import Agreement
from credits import signals
from credits.models import Claim, ClaimEvent, LedgerEntry, Period


class LedgerError(ValueError):
    pass


def balance(agreement: Agreement) -> Decimal:
    return LedgerEntry.objects.filter(agreement=agreement).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal("0.00")


def _enter(*, key: str, **fields: object) -> LedgerEntry | None:
    """Insert one entry unless its idempotency key is already in the ledger."""
    if LedgerEntry.objects.filter(idempotency_key=key).exists():
        return None
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(idempotency_key=key, **fields)  # type: ignore[arg-type]
        transaction.on_commit(partial(signals.credit_entered.send, sender=LedgerEntry, entry=entry))
        return entry
    except IntegrityError:
        # Another worker entered it between our check and our insert: still exactly once.
        if LedgerEntry.objects.filter(idempotency_key=key).exists():
            return None
        raise


def on_period_closed(*, period: Period, now: dt.datetime) -> None:
    """A closed period's credit: entered at once, or offered as a claim (rule 14)."""
    amount = period.credit_amount or Decimal(0)
    if amount <= 0:
        return
    agreement = period.agreement
    window = period.terms_version.terms.get("claim_window_days", agreement.claim_window_days)
    if not window:
        _enter(
            key=f"credit:{period.pk}:r{period.revision}",
            agreement=agreement,
            kind=LedgerEntry.Kind.CREDIT,
            amount=amount,
            currency=agreement.currency,
            period=period,
            revision=period.revision,
            created_at=now,
            created_by="system",
            reason=f"credit for {period.period} (issued at close)",
        )
        return
    claim, created = Claim.objects.get_or_create(
        period=period,
        revision=period.revision,
        defaults={
            "agreement": agreement,
            "amount": amount,
            "currency": agreement.currency,
            "claimable_until": now + dt.timedelta(days=window),
            "created_at": now,
        },
    )
    if created:
        ClaimEvent.objects.create(
            claim=claim,
            at=now,
            state=claim.state,
            actor="system",
            note=f"claimable until {claim.claimable_until:%Y-%m-%d %H:%M} UTC",
        )
        transaction.on_commit(
            partial(signals.claim_changed.send, sender=Claim, claim=claim, at=now)
        )


def on_period_restated(*, period: Period, actor: str, reason: str, now: dt.datetime) -> None:
    """Reverse the credit in force and enter the restated one (or offer it as a claim).

    The credit in force is the period's latest credit entry, of whichever revision entered
    it (a restatement that changed no amount entered nothing), unless already reversed.
    """
    agreement = period.agreement
    entered = (
        LedgerEntry.objects.filter(period=period, kind=LedgerEntry.Kind.CREDIT)
        .order_by("-revision", "-id")
        .first()
    )
    if (
        entered is not None
        and LedgerEntry.objects.filter(
            period=period,
            kind=LedgerEntry.Kind.REVERSAL,
            revision=entered.revision,
            idempotency_key__startswith="reversal:",  # not a bonus's reversal
        ).exists()
    ):
        entered = None
    old_claim = Claim.objects.filter(period=period).order_by("-revision").first()
    if old_claim is not None and old_claim.state in (Claim.State.CLAIMABLE, Claim.State.CLAIMED):
        old_claim.state = Claim.State.SUPERSEDED
        old_claim.save(update_fields=["state"])
        ClaimEvent.objects.create(
            claim=old_claim, at=now, state=old_claim.state, actor=actor, note=reason
        )
        transaction.on_commit(
            partial(signals.claim_changed.send, sender=Claim, claim=old_claim, at=now)
        )
    if entered is not None:
        _reverse(
            entered,
            period=period,
            key="reversal",
            note=f"restatement of {period.period}: {reason}",
            now=now,
            actor=actor,
        )
    amount = period.credit_amount or Decimal(0)
    if amount <= 0:
        return
    window = period.terms_version.terms.get("claim_window_days", agreement.claim_window_days)
    # Credit already granted (entered or approved) follows the restatement directly;
    # otherwise the restated amount is offered as a new claim.
    if not window or entered is not None:
        _enter(
            key=f"credit:{period.pk}:r{period.revision}",
            agreement=agreement,
            kind=LedgerEntry.Kind.CREDIT,
            amount=amount,
            currency=agreement.currency,
            period=period,
            revision=period.revision,
            created_at=now,
            created_by=actor,
            reason=f"restated credit for {period.period}: {reason}",
        )
        return
    claim = Claim.objects.create(
        agreement=agreement,
        period=period,
        revision=period.revision,
        amount=amount,
        currency=agreement.currency,
        claimable_until=now + dt.timedelta(days=window),
        created_at=now,
    )
    ClaimEvent.objects.create(
        claim=claim, at=now, state=claim.state, actor=actor, note=f"restated: {reason}"
    )
    transaction.on_commit(partial(signals.claim_changed.send, sender=Claim, claim=claim, at=now))


def enter_bonus(
    *, period: Period, now: dt.datetime, actor: str = "system", reason: str = ""
) -> None:
    """Rule 12: the bonus the provider earned in a closed period, as a negative ``bonus``
    entry beside (never netted into) the credit. On a restatement (``reason`` given) the
    bonus in force is reversed first, and the restated one entered; nothing is appended
    when the amount is unchanged. Exactly once per period revision."""
    amount = period.bonus_amount or Decimal(0)
    agreement = period.agreement
    entered = (
        LedgerEntry.objects.filter(period=period, kind=LedgerEntry.Kind.BONUS)
        .order_by("-revision", "-id")
        .first()
    )
    if (
        entered is not None
        and LedgerEntry.objects.filter(
            idempotency_key=f"bonus-reversal:{period.pk}:r{entered.revision}"
        ).exists()
    ):
        entered = None
    if entered is not None and -entered.amount == amount:
        return
    if entered is not None:
        _reverse(
            entered,
            period=period,
            key="bonus-reversal",
            note=f"restatement of {period.period} (bonus): {reason}",
            now=now,
            actor=actor,
        )
    if amount <= 0:
        return
    _enter(
        key=f"bonus:{period.pk}:r{period.revision}",
        agreement=agreement,
        kind=LedgerEntry.Kind.BONUS,
        amount=-amount,
        currency=agreement.currency,
        period=period,
        revision=period.revision,
        created_at=now,
        created_by=actor,
        reason=(
            f"restated bonus for {period.period}: {reason}"
            if reason
            else f"bonus earned by the provider in {period.period} (entered at close)"
        ),
    )


def record_entry(
    *,
    agreement: Agreement,
    kind: str,
    amount: Decimal,
    actor: str,
    reason: str,
    reference: str = "",
    now: dt.datetime,
) -> LedgerEntry:
    """Staff record a credit applied to an invoice (negative) or a manual adjustment."""
    if kind not in (LedgerEntry.Kind.APPLIED, LedgerEntry.Kind.ADJUSTMENT):
        raise LedgerError("kind: only applied and adjustment entries are recorded by hand")
    if not reason.strip():
        raise LedgerError("reason: is required")
    if amount == 0:
        raise LedgerError("amount: must not be zero")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise LedgerError("amount: at most 2 decimal places")
    if kind == LedgerEntry.Kind.APPLIED:
        amount = -abs(amount)
        if -amount > balance(agreement):
            raise LedgerError(
                f"amount: more than the balance of {balance(agreement)} {agreement.currency}"
            )
    import uuid

    entry = _enter(
        key=f"{kind}:{uuid.uuid4()}",
        agreement=agreement,
        kind=kind,
        amount=amount,
        currency=agreement.currency,
        created_at=now,
        created_by=actor,
        reason=reason.strip(),
        reference=reference.strip(),
    )
    assert entry is not None
    return entry


def _reverse(
    entered: LedgerEntry, *, period: Period, key: str, note: str, now: object, actor: object
) -> None:
    """Append the reversal of ``entered`` (a credit or a bonus in force) of ``period`` for
    a restatement: the opposite amount, under ``key:<period>:r<revision>``, once."""
    _enter(
        key=f"{key}:{period.pk}:r{entered.revision}",
        agreement=period.agreement,
        kind=LedgerEntry.Kind.REVERSAL,
        amount=-entered.amount,
        currency=entered.currency,
        period=period,
        revision=entered.revision,
        created_at=now,
        created_by=actor,
        reason=note,
    )
