"""Events, escalations, email digests and partner webhooks.

An Event is stored once per happening (its ``idempotency_key`` is unique), whatever the
number of recomputes, retries or re-sent signals that report it. Everything that follows
from an event (an escalation, queued email, webhook deliveries) hangs off that one row,
so it happens once too.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from agreements.models import Agreement, Customer


class EventType(models.TextChoices):
    OBJECTIVE_AT_RISK = "objective.at_risk", "Objective at risk"
    OBJECTIVE_BREACHED = "objective.breached", "Objective breached"
    OBJECTIVE_RECOVERED = "objective.recovered", "Objective recovered"
    INCIDENT_OPENED = "incident.opened", "Incident opened"
    INCIDENT_UPDATED = "incident.updated", "Incident updated"
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    MAINTENANCE_SCHEDULED = "maintenance.scheduled", "Maintenance scheduled"
    MAINTENANCE_STARTED = "maintenance.started", "Maintenance started"
    MAINTENANCE_FINISHED = "maintenance.finished", "Maintenance finished"
    PERIOD_CLOSED = "period.closed", "Period closed"
    CREDIT_ISSUED = "credit.issued", "Credit issued"
    CREDIT_CLAIMABLE = "credit.claimable", "Credit claimable"
    CLAIM_APPROVED = "claim.approved", "Claim approved"
    CLAIM_REJECTED = "claim.rejected", "Claim rejected"
    TICKET_DUE_SOON = "ticket.due_soon", "Ticket due soon"
    TICKET_BREACHED = "ticket.breached", "Ticket breached"
    # The contract's life (rule 20)
    NOTICE_GIVEN = "agreement.notice_given", "Notice of termination given"
    AGREEMENT_ENDING = "agreement.ending", "Agreement ending"
    NOTICE_DEADLINE = "agreement.notice_deadline", "Last day to give notice coming"
    AGREEMENT_RENEWED = "agreement.renewed", "Agreement renewed"
    AMENDMENT_PROPOSED = "amendment.proposed", "Amendment proposed"
    AMENDMENT_ACCEPTED = "amendment.accepted", "Amendment accepted"
    AMENDMENT_REJECTED = "amendment.rejected", "Amendment rejected"
    # Not an event: choosing it opts a member in to the monthly statement by email.
    MONTHLY_REPORT = "report.monthly", "Monthly statement by email (PDF)"


EVENT_TYPES: list[str] = [value for value, _ in EventType.choices]

# Members who never chose receive these by email; the rest are opt-in (they are chatty).
DEFAULT_EMAIL_EVENTS: list[str] = [
    t
    for t in EVENT_TYPES
    if t
    not in (
        EventType.INCIDENT_UPDATED,
        EventType.MAINTENANCE_STARTED,
        EventType.MAINTENANCE_FINISHED,
        EventType.MONTHLY_REPORT,
    )
]


class Event(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=EventType.choices)
    objective_key = models.SlugField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(help_text="When it happened (UTC)")
    summary = models.CharField(max_length=300)
    payload = models.JSONField(default=dict)
    # e.g. "objective.breached:{period_id}:{objective}:{episode}": a second report of the
    # same happening hits this key instead of raising the event twice.
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=EVENT_TYPES),
                name="notifications_event_type_valid",
                violation_error_message="This event type does not exist.",
            ),
        ]
        indexes = [
            # The agreement's recent events, newest first (admin, API, portal).
            models.Index(fields=["agreement", "-occurred_at"], name="notifications_event_agr_time"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key} {self.type} {self.occurred_at:%Y-%m-%d %H:%M}"


class ObjectiveState(models.Model):
    """The last status seen per open period and objective, and how many episodes so far.

    Recomputes report status changes; this row turns them into at most one event per
    change even when the same change is reported many times.
    """

    period = models.ForeignKey(
        "credits.Period", on_delete=models.CASCADE, related_name="notification_states"
    )
    objective_key = models.SlugField(max_length=64)
    status = models.CharField(max_length=10)
    episode = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "objective_key"],
                name="notifications_objectivestate_unique",
                violation_error_message="This period already has a state for this objective.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.objective_key}: {self.status}"


class EscalationQuerySet(models.QuerySet["Escalation"]):
    def open(self) -> EscalationQuerySet:
        return self.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)

    def for_user(self, user: object) -> EscalationQuerySet:
        if getattr(user, "is_staff", False):
            return self
        return self.filter(agreement__customer__memberships__user=user)


class Escalation(models.Model):
    class Kind(models.TextChoices):
        BREACH = "breach", "Objective breached"
        OUTAGE = "outage", "Outage incident"
        TICKET = "ticket", "Ticket breached"

    class Via(models.TextChoices):
        EMAIL = "email", "Email link"
        PORTAL = "portal", "Portal"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        INCIDENT = "incident", "On the incident"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="escalations")
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="escalation")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    subject = models.CharField(max_length=300)
    period = models.ForeignKey(
        "credits.Period", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    objective_key = models.SlugField(max_length=64, blank=True)
    incident = models.ForeignKey(
        "metrics.Incident", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    level_notified = models.PositiveSmallIntegerField(default=0)
    next_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next level is due, if any"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=254, blank=True)
    acknowledged_via = models.CharField(max_length=8, choices=Via.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["breach", "outage", "ticket"]),
                name="notifications_escalation_kind_valid",
                violation_error_message="The escalation kind must be breach, outage or ticket.",
            ),
            models.CheckConstraint(
                condition=Q(
                    acknowledged_via__in=["", "email", "portal", "api", "admin", "incident"]
                ),
                name="notifications_escalation_via_valid",
                violation_error_message="An acknowledgement comes by email, portal, API, admin or incident.",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | ~Q(acknowledged_by=""),
                name="notifications_escalation_ack_has_actor",
                violation_error_message="An acknowledged escalation needs who acknowledged it.",
            ),
        ]
        indexes = [
            # The escalate task's pass: open escalations whose next level is due.
            models.Index(fields=["next_at"], name="notifications_escalation_next"),
            # The agreement page shows an agreement's latest escalations.
            models.Index(fields=["agreement", "-started_at"], name="notifications_escalation_agr"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key}: {self.subject}"

    @property
    def state(self) -> str:
        if self.resolved_at is not None:
            return "resolved"
        if self.acknowledged_at is not None:
            return "acknowledged"
        return "open"


class EscalationNotice(models.Model):
    """One escalation level told: who, when. Unique, so a level is told once."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="notices")
    level = models.PositiveSmallIntegerField()
    contact = models.EmailField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["escalation", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "level"],
                name="notifications_escalationnotice_unique",
                violation_error_message="This escalation already notified this level.",
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.level} → {self.contact}"


class Preference(models.Model):
    """Which events one member receives by email for one agreement."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    events = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "user"],
                name="notifications_preference_unique",
                violation_error_message="This person already has preferences for this agreement.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agreement.key}"


class EmailItem(models.Model):
    """An event queued for one recipient's next digest."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="email_items")
    recipient = models.EmailField()
    queued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queued_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"],
                name="notifications_emailitem_unique",
                violation_error_message="This recipient is already emailed about this event.",
            ),
        ]
        indexes = [
            # The digest pass: unsent items, oldest first, grouped by recipient.
            models.Index(
                fields=["sent_at", "recipient", "queued_at"], name="notifications_emailitem_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.recipient}"


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def active(self) -> WebhookEndpointQuerySet:
        return self.filter(is_active=True)


class WebhookEndpoint(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types delivered to this URL")
    # Kept in clear: it signs every delivery (HMAC), so it must be readable by the worker.
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries that failed after every retry, since the last success"
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.customer.key}: {self.url}"

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                name="notifications_webhookdelivery_unique",
                violation_error_message="This endpoint already has a delivery of this event.",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "succeeded", "failed"]),
                name="notifications_webhookdelivery_state_valid",
                violation_error_message="A delivery is pending, succeeded or failed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url} ({self.state})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        outcome = self.status_code if self.status_code is not None else self.error
        return f"attempt {self.number}: {outcome}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
