"""Evaluations per period, and the credit ledger.

A Period row tracks one agreement month (open or closed, with the terms version it uses).
Each computation of a period stores one Evaluation per objective; open periods are
recomputed in place, closing freezes them, and a restatement of a closed period adds a
new revision beside the old one instead of editing it.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from agreements import engine
from agreements.models import Agreement, TermsVersion

# The statuses of rules 9-10, as Django choices built from their one home in the engine.
EvaluationStatus = models.TextChoices(  # type: ignore[call-overload]
    "EvaluationStatus", [(s.name, (s.value, s.words)) for s in engine.Status]
)


class PeriodQuerySet(models.QuerySet["Period"]):
    def open(self) -> PeriodQuerySet:
        return self.filter(state=Period.State.OPEN)

    def closed(self) -> PeriodQuerySet:
        return self.filter(state=Period.State.CLOSED)


class Period(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="periods")
    period = models.CharField(max_length=7, help_text="YYYY-MM in the agreement's time zone")
    start = models.DateTimeField()
    end = models.DateTimeField()
    closes_at = models.DateTimeField(help_text="end + data grace hours")
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    terms_version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField(default=1)
    computed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    credit_subtotal = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    credit_cap = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    credit_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Rule 12: the bonus the provider earned, beside the credit and never netted into it.
    bonus_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    late_data = models.BooleanField(
        default=False, help_text="Data arrived after closing; staff may re-evaluate"
    )

    objects = PeriodQuerySet.as_manager()

    class Meta:
        ordering = ["agreement", "-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "period"],
                name="credits_period_unique",
                violation_error_message="This agreement already has this period.",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "closed"]),
                name="credits_period_state_valid",
                violation_error_message="A period is open or closed.",
            ),
            models.CheckConstraint(
                condition=Q(period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
                name="credits_period_id_format",
                violation_error_message="The period must be a month written YYYY-MM, e.g. 2026-03.",
            ),
            models.CheckConstraint(
                condition=Q(state="open") | Q(closed_at__isnull=False, credit_amount__isnull=False),
                name="credits_period_closed_has_credit",
                violation_error_message="A closed period needs its closing time and its credit amount.",
            ),
        ]
        indexes = [
            # Beat's closing pass looks for open periods whose grace time has passed.
            models.Index(fields=["state", "closes_at"], name="credits_period_state_closes"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key} {self.period} ({self.state})"

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED


class Evaluation(models.Model):
    """One objective's figures in one period, for one revision of that period."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="evaluations")
    revision = models.PositiveIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0)
    objective_key = models.SlugField(max_length=64)
    indicator = models.CharField(max_length=20)
    unit = models.CharField(max_length=10)
    target = models.DecimalField(max_digits=7, decimal_places=4)
    good = models.DecimalField(max_digits=24, decimal_places=6)
    bad = models.DecimalField(max_digits=24, decimal_places=6)
    achieved = models.DecimalField(
        max_digits=24,
        decimal_places=8,
        null=True,
        blank=True,
        help_text="Rounded for storage; the exact figure is 100 × good / (good + bad), or "
        "a bounded value in value_unit (rule 15)",
    )
    completeness = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    eligible = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal(0))
    pending = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices)
    budget_total = models.DecimalField(max_digits=24, decimal_places=6)
    budget_spent = models.DecimalField(max_digits=24, decimal_places=6)
    budget_remaining = models.DecimalField(max_digits=24, decimal_places=6)
    budget_remaining_percent = models.DecimalField(
        max_digits=16, decimal_places=6, null=True, blank=True
    )
    burn_rate_1h = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    credit_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    computed_at = models.DateTimeField()
    bonus_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    # Rule 18: [{"service", "name", "provider", "bad"}], bad in ``unit`` (a decimal string).
    attribution = models.JSONField(default=list, blank=True)
    # The further forms (rules 15-17): the unit of achieved ("%", "s", "ms" or a metric's
    # name), the bound it is held to, and for a volume commitment what was required and
    # carried from the period named (fixed once that period closed).
    value_unit = models.CharField(max_length=64, default="%")
    bound = models.CharField(max_length=3, blank=True)
    bound_limit = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    required = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    carried = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    carried_from = models.CharField(max_length=7, blank=True)

    class Meta:
        ordering = ["period", "revision", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "revision", "objective_key"],
                name="credits_evaluation_unique",
                violation_error_message="This period already has an evaluation of this objective in this revision.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EvaluationStatus.values),
                name="credits_evaluation_status_valid",
                violation_error_message="The status must be met, at risk, breached or no data.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} r{self.revision} {self.objective_key}: {self.status}"


class Checkpoint(models.Model):
    """What an open period's objective counted over its settled past, so that the next
    recompute reads only what is new.

    ``first``/``second`` are the counts over the covered time in [period start, through):
    up/down minutes (availability from probes), fast/total probes (latency), good/total
    events (ratio). ``through`` is a UTC midnight at least a quarter of an hour old. The
    fingerprint hashes the service, the threshold and the covered intervals before
    ``through`` (so any change of terms, calendar or maintenance misses it). Measurements
    older than ``through`` arriving later delete it in their own transaction. Closing and
    restating never use checkpoints: final figures are always read in full.
    """

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="checkpoints")
    objective_key = models.SlugField(max_length=64)
    through = models.DateTimeField()
    fingerprint = models.CharField(max_length=64)
    first = models.BigIntegerField()
    second = models.BigIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "objective_key"],
                name="credits_checkpoint_unique",
                violation_error_message="This period already has a checkpoint for this objective.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.objective_key} through {self.through:%Y-%m-%d}"


class AppendOnlyQuerySet(models.QuerySet):
    """Ledger rows are never changed or deleted, not even in bulk."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("ledger entries are append-only: add an adjustment or a reversal")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("ledger entries are append-only: add an adjustment or a reversal")


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CREDIT = "credit", "Credit"
        APPLIED = "applied", "Applied to invoice"
        ADJUSTMENT = "adjustment", "Adjustment"
        REVERSAL = "reversal", "Reversal"
        BONUS = "bonus", "Bonus"  # rule 12: earned by the provider, negative

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    period = models.ForeignKey(
        Period, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    revision = models.PositiveIntegerField(null=True, blank=True)
    # One credit per period revision, one reversal per restated revision: a second
    # attempt by any worker hits this unique key instead of entering money twice.
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    reason = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text="e.g. the invoice number")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["credit", "applied", "adjustment", "reversal", "bonus"]),
                name="credits_ledgerentry_kind_valid",
                violation_error_message="This kind of ledger entry does not exist.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit") | Q(amount__gt=0),
                name="credits_ledgerentry_credit_positive",
                violation_error_message="A credit must be a positive amount.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus") | Q(amount__lt=0),
                name="credits_ledgerentry_bonus_negative",
                violation_error_message="A bonus is owed by the customer: enter it as a negative amount.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="applied") | Q(amount__lt=0),
                name="credits_ledgerentry_applied_negative",
                violation_error_message="An applied credit reduces the balance: enter it as a negative amount.",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["adjustment", "applied"]) | ~Q(reason=""),
                name="credits_ledgerentry_reason_required",
                violation_error_message="An adjustment or an applied credit needs a reason.",
            ),
        ]
        indexes = [
            # The ledger page and API list an agreement's entries newest first.
            models.Index(fields=["agreement", "-created_at"], name="credits_ledger_agr_created"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key} {self.kind} {self.amount} {self.currency}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("ledger entries are append-only: add an adjustment or a reversal")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("ledger entries are append-only: add an adjustment or a reversal")


class Claim(models.Model):
    class State(models.TextChoices):
        CLAIMABLE = "claimable", "Claimable"
        CLAIMED = "claimed", "Claimed, awaiting review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded by a restatement"

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="claims")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="claims")
    revision = models.PositiveIntegerField(default=1)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLAIMABLE)
    claimable_until = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "revision"],
                name="credits_claim_unique_period",
                violation_error_message="This period already has a claim for this revision.",
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "claimable",
                        "claimed",
                        "approved",
                        "rejected",
                        "expired",
                        "superseded",
                    ]
                ),
                name="credits_claim_state_valid",
                violation_error_message="This claim state does not exist.",
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(reason=""),
                name="credits_claim_rejection_reason",
                violation_error_message="A rejected claim needs a reason.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="credits_claim_amount_positive",
                violation_error_message="A claim must be for a positive amount.",
            ),
        ]
        indexes = [
            # The expiry pass looks for open claims past their window.
            models.Index(fields=["state", "claimable_until"], name="credits_claim_state_until"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key} {self.period.period}: {self.amount} {self.currency} ({self.state})"


class ClaimEvent(models.Model):
    """Every state change of a claim, with who and why."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    state = models.CharField(max_length=10)
    actor = models.CharField(max_length=150)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.claim_id} → {self.state} by {self.actor}"


class Restatement(models.Model):
    """Staff re-evaluated a closed period: the figures of both revisions stay, with why."""

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="restatements")
    from_revision = models.PositiveIntegerField()
    to_revision = models.PositiveIntegerField()
    previous_amount = models.DecimalField(max_digits=14, decimal_places=2)
    new_amount = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=500)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["period", "to_revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "to_revision"],
                name="credits_restatement_unique_revision",
                violation_error_message="This period was already restated to this revision.",
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="credits_restatement_reason",
                violation_error_message="A restatement needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} r{self.from_revision}→r{self.to_revision}"


class Failure(models.Model):
    """One agreement's recompute or close that failed: kept apart so the others go on
    (a bulkhead), shown to staff, and retried by the next pass (beat) until it succeeds,
    which marks it resolved."""

    class Stage(models.TextChoices):
        RECOMPUTE = "recompute", "recompute"
        CLOSE = "close", "closing"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="failures")
    stage = models.CharField(max_length=10, choices=Stage.choices)
    period = models.CharField(max_length=7, blank=True)  # "YYYY-MM" for a close
    error = models.CharField(max_length=1000)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=["recompute", "close"]),
                name="credits_failure_stage_valid",
                violation_error_message="The stage must be recompute or close.",
            ),
            # One open failure per agreement, stage and period: a retry that fails again
            # updates it rather than adding rows.
            models.UniqueConstraint(
                fields=["agreement", "stage", "period"],
                condition=Q(resolved_at__isnull=True),
                name="credits_failure_one_open",
                violation_error_message="This agreement already has an unresolved failure at this stage for this period.",
            ),
        ]

    def __str__(self) -> str:
        where = f" {self.period}" if self.period else ""
        return f"{self.agreement} {self.stage}{where}: {self.error[:80]}"
