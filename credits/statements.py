"""The data of a closed period's service-credit statement.

Everything a statement prints is read here from what closing the period stored: its
evaluations, its credit subtotal, cap and total (rule 12 was applied once, at close, and
is not applied again), its claim and restatements; the evidence comes from
``credits.evidence``. Rendering (CSV, PDF) is the portal's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from agreements import display, engine
from agreements.engine import Status
from agreements.models import Agreement
from credits import bounded
from credits.evidence import Evidence, evidence_of
from credits.models import Claim, Evaluation, Period
from credits.models import Restatement as RestatementRow
from credits.terms import Terms, terms_of
from metrics.models import IngestionBatch

__all__ = ["Evidence", "ObjectiveLine", "Restatement", "Source", "Statement", "statement_of"]


@dataclass(frozen=True)
class ObjectiveLine:
    """One objective's outcome for the period and the credit it earns."""

    key: str
    indicator: str
    target: Decimal
    achieved: Decimal | None
    status: Status
    good: Decimal
    bad: Decimal
    unit: str  # "minutes" | "seconds" | "probes" | "events" | "tickets"
    completeness: Decimal | None
    tiers: tuple[tuple[Decimal, Decimal], ...]  # (below, percent)
    credit_percent: Decimal
    credit_amount: Decimal  # monthly_fee * percent / 100, unrounded
    bonus_percent: Decimal = Decimal(0)  # rule 12, earned by the provider
    # Rule 18, objectives over several services: [{"service", "name", "provider", "bad"}].
    attribution: tuple[Mapping[str, str], ...] = ()
    # The further forms (rules 15-17): achieved's unit and bound, and a commitment's sum.
    value_unit: str = "%"
    bound: str = ""
    commitment: str = ""

    @property
    def achieved_text(self) -> str:
        """Achieved as people read it, with its unit (rules 15, 19)."""
        unit = "%" if self.commitment else self.value_unit
        return display.measured(self.achieved, unit, target=self.target, bound=self.bound)


@dataclass(frozen=True)
class Source:
    """One source of the period's measurements: an API key or integration, by name."""

    name: str
    kind: str  # probes, events, incidents, maintenance, tickets
    batches: int
    records: int  # records stored (accepted)


@dataclass(frozen=True)
class Restatement:
    """A correction of the credit total after the period was first closed."""

    at: dt.datetime
    previous_amount: Decimal
    new_amount: Decimal
    reason: str


@dataclass(frozen=True)
class Statement:
    """Everything printed on the statement of one agreement for one closed period."""

    agreement_key: str
    agreement_name: str
    customer_name: str
    provider: str
    period: str  # "YYYY-MM"
    timezone: str
    currency: str
    monthly_fee: Decimal
    credit_cap_percent: Decimal
    terms_version: int
    terms_effective_period: str
    closed_at: dt.datetime | None
    objectives: tuple[ObjectiveLine, ...]
    subtotal: Decimal  # sum of objective credits (unrounded)
    cap_amount: Decimal  # monthly_fee * cap / 100
    credit_total: Decimal  # min(subtotal, cap) rounded half-up to 0.01
    claim_status: str = ""
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    restatements: tuple[Restatement, ...] = ()
    # Who sent the measurements its figures rest on (SPEC §4, the ingestion log).
    sources: tuple[Source, ...] = ()
    # Rule 12: the bonus the provider earned, shown beside the credit, never netted.
    bonus_total: Decimal = Decimal("0.00")


def statement_of(agreement: Agreement, period: str) -> Statement | None:
    """The statement of closed ``period`` of ``agreement``, or None (open or unknown)."""
    row = _closed_period(agreement, period)
    if row is None:
        return None
    terms = terms_of(row.terms_version.terms)
    zone = ZoneInfo(terms.timezone)
    lines = _objective_lines(row, terms)
    subtotal, cap, total = _credit_figures(row, terms, lines)
    return Statement(
        agreement_key=agreement.key,
        agreement_name=agreement.name,
        customer_name=agreement.customer.name,
        provider=agreement.provider or "—",
        period=row.period,
        timezone=terms.timezone,
        currency=agreement.currency,
        monthly_fee=terms.monthly_fee,
        credit_cap_percent=terms.credit_cap_percent,
        terms_version=row.terms_version.number,
        terms_effective_period=row.terms_version.effective_period,
        closed_at=row.closed_at.astimezone(zone) if row.closed_at else None,
        objectives=lines,
        subtotal=subtotal,
        cap_amount=cap,
        credit_total=total,
        claim_status=_claim_status(row),
        evidence=evidence_of(row, terms),
        restatements=_restatements(row, zone),
        sources=_sources(agreement, row, terms),
        bonus_total=row.bonus_amount or Decimal("0.00"),
    )


def _sources(agreement: Agreement, row: Period, terms: Terms) -> tuple[Source, ...]:
    """The ingestion batches about the period's services (or, for tickets, its customer),
    grouped by source and kind (one query)."""
    keys = {o.service for o in terms.objectives if o.service}
    keys |= {key for o in terms.objectives for key in o.services}
    found = (
        IngestionBatch.objects.filter(
            Q(services__key__in=keys) | Q(customers__id=agreement.customer_id)
        )
        .within(row.start, row.end)
        .values("source", "kind")
        .annotate(batches=Count("id", distinct=True), records=Sum("accepted"))
        .order_by("source", "kind")
    )
    return tuple(Source(f["source"], f["kind"], f["batches"], f["records"] or 0) for f in found)


def _closed_period(agreement: Agreement, period: str) -> Period | None:
    return (
        Period.objects.filter(agreement_id=agreement.pk, period=period, state=Period.State.CLOSED)
        .select_related("terms_version")
        .first()
    )


def _objective_lines(row: Period, terms: Terms) -> tuple[ObjectiveLine, ...]:
    """The stored evaluations of the period's current revision, each with its credit."""
    tiers = {o.key: o.tiers for o in terms.objectives}
    evaluations: list[Evaluation] = list(
        row.evaluations.filter(revision=row.revision).order_by("position")
    )
    return tuple(
        ObjectiveLine(
            key=e.objective_key,
            indicator=e.indicator,
            target=e.target,
            achieved=e.achieved,
            status=Status(e.status),
            good=e.good,
            bad=e.bad,
            unit=e.unit,
            completeness=e.completeness,
            tiers=tiers.get(e.objective_key, ()),
            credit_percent=e.credit_percent,
            credit_amount=engine.objective_credit(
                monthly_fee=terms.monthly_fee, percent=e.credit_percent
            ),
            bonus_percent=e.bonus_percent,
            attribution=tuple(e.attribution),
            value_unit=e.value_unit,
            bound=e.bound,
            commitment=bounded.commitment_text(e),
        )
        for e in evaluations
    )


def _credit_figures(
    row: Period, terms: Terms, lines: tuple[ObjectiveLine, ...]
) -> tuple[Decimal, Decimal, Decimal]:
    """Subtotal, cap and total as closing stored them; a period closed before the
    subtotal and cap were stored has them restated from the rule's home."""
    subtotal = row.credit_subtotal
    if subtotal is None:
        subtotal = sum((line.credit_amount for line in lines), Decimal(0))
    cap = row.credit_cap
    if cap is None:
        cap = engine.period_credit_cap(
            monthly_fee=terms.monthly_fee, cap_percent=terms.credit_cap_percent
        )
    return subtotal, cap, row.credit_amount or Decimal("0.00")


def _claim_status(row: Period) -> str:
    claim = Claim.objects.filter(period=row, revision=row.revision).order_by("-created_at").first()
    if claim is None:
        return ""
    return f"{claim.get_state_display()} ({display.money(claim.amount)} {claim.currency})"


def _restatements(row: Period, zone: ZoneInfo) -> tuple[Restatement, ...]:
    return tuple(
        Restatement(
            at=r.created_at.astimezone(zone),
            previous_amount=r.previous_amount,
            new_amount=r.new_amount,
            reason=r.reason,
        )
        for r in RestatementRow.objects.filter(period=row).order_by("to_revision")
    )
