"""Notices of termination and amendments proposed by the provider (SPEC §3 rule 20).

Each keeps who did what and when; neither is ever deleted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from agreements.models import Agreement, TermsVersion


class Notice(models.Model):
    """Notice of termination given by either party: the agreement ends on ``end_on``."""

    class By(models.TextChoices):
        CUSTOMER = "customer", "the customer"
        PROVIDER = "provider", "the provider"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="notices")
    by = models.CharField(max_length=16, choices=By.choices)
    reason = models.CharField(max_length=300, blank=True)
    given_by = models.CharField(max_length=150)
    given_at = models.DateTimeField(help_text="UTC")
    requested_end_on = models.DateField(null=True, blank=True)
    end_on = models.DateField(help_text="The agreement's last day (inclusive)")

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(by__in=["customer", "provider"]),
                name="contracts_notice_by_valid",
                violation_error_message="Notice is given by the customer or the provider.",
            ),
            # One notice per agreement: a second would say nothing the first did not.
            models.UniqueConstraint(
                fields=["agreement"],
                name="contracts_notice_one_per_agreement",
                violation_error_message="This agreement already has a notice: change that one instead.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key}: notice by {self.by}, ends {self.end_on}"


class Amendment(models.Model):
    """New terms proposed by the provider; they apply only once the customer accepts."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "proposed"
        ACCEPTED = "accepted", "accepted"
        REJECTED = "rejected", "rejected"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="amendments")
    document = models.JSONField(help_text="The proposed agreement document, canonical")
    effective_period = models.CharField(max_length=7, help_text="YYYY-MM")
    note = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.CharField(max_length=150)
    proposed_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    version = models.ForeignKey(
        TermsVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "accepted", "rejected"]),
                name="contracts_amendment_status_valid",
                violation_error_message="An amendment is proposed, accepted or rejected.",
            ),
            models.CheckConstraint(
                condition=Q(effective_period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
                name="contracts_amendment_period_format",
                violation_error_message="The period must be a month written YYYY-MM, e.g. 2026-03.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key}: amendment {self.pk} from {self.effective_period} ({self.status})"


class ReportDelivery(models.Model):
    """The monthly statement emailed for one closed period and revision (rule 20,
    ``reports``): sent once per revision; staff may resend it from admin."""

    period = models.ForeignKey(
        "credits.Period", on_delete=models.CASCADE, related_name="report_deliveries"
    )
    revision = models.PositiveIntegerField()
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField()
    sent_by = models.CharField(max_length=150, help_text="'close' or the staff member")

    class Meta:
        ordering = ["-sent_at"]
        verbose_name_plural = "report deliveries"

    def __str__(self) -> str:
        return f"{self.period} r{self.revision} to {len(self.recipients)} recipient(s)"
