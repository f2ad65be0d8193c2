"""The parts of the agreement page read on every request: ledger, claims and documents.

They change with every claim and entry, so they are never cached. Plain SQL of the
columns the page shows spares the ORM compiling the same queries again each time, which
cost more than running them. Instances come back with only these fields loaded; the page
reads no other (the query-count tests would see a deferred field being loaded).
"""

from __future__ import annotations

from decimal import Decimal

from agreements.models import Agreement, AgreementDocument
from credits.models import Claim, LedgerEntry

_LEDGER_SQL = """
    SELECT e.id, e.created_at, e.kind, e.amount, e.currency, e.reason, e.reference,
           p.period AS period_name
    FROM credits_ledgerentry e LEFT JOIN credits_period p ON p.id = e.period_id
    WHERE e.agreement_id = %s ORDER BY e.created_at DESC, e.id DESC"""
_CLAIMS_SQL = """
    SELECT c.id, c.revision, c.amount, c.currency, c.state, c.reason, c.claimed_by,
           c.claimed_at, c.claimable_until, p.period AS period_name
    FROM credits_claim c JOIN credits_period p ON p.id = c.period_id
    WHERE c.agreement_id = %s ORDER BY p.period DESC, c.revision DESC"""
_DOCUMENTS_SQL = """
    SELECT id, title, uploaded_at FROM agreements_agreementdocument
    WHERE agreement_id = %s ORDER BY title, id"""


def ledger_of(agreement: Agreement) -> tuple[list[LedgerEntry], Decimal]:
    """The agreement's ledger entries, newest first, and their balance."""
    entries = list(LedgerEntry.objects.raw(_LEDGER_SQL, [agreement.pk]))
    return entries, sum((e.amount for e in entries), Decimal("0.00"))


def claims_of(agreement: Agreement) -> list[Claim]:
    return list(Claim.objects.raw(_CLAIMS_SQL, [agreement.pk]))


def documents_of(agreement: Agreement) -> list[AgreementDocument]:
    return list(AgreementDocument.objects.raw(_DOCUMENTS_SQL, [agreement.pk]))
