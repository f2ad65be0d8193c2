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
