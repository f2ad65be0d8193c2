"""Monitoring tools that post their own webhooks (SPEC §4, Integrations): their secrets,
the names they use for our services, and the log of every delivery."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from agreements.models import Customer, Service

# A rotated secret stays valid this long, so senders can be switched over without loss.
PREVIOUS_SECRET_GRACE = dt.timedelta(hours=24)
# Deliveries are kept this long for staff, then pruned by beat.
DELIVERY_RETENTION = dt.timedelta(days=30)
# What a delivery's log keeps of its body: enough for a whole ticket webhook (Jira's carry
# the fields), which the mapping preview translates again.
BODY_KEPT_CHARS = 65536


class Integration(models.Model):
    """One sending tool: its kind, the name measurements are recorded under (the name
    ``measured_by`` lists), its signing secret and how its fields map to ours."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager / Grafana alerting"
        UPTIME_KUMA = "uptime-kuma", "Uptime Kuma"
        PAGERDUTY = "pagerduty", "PagerDuty (V3 webhooks)"
        JIRA = "jira", "Jira Service Management"
        ZENDESK = "zendesk", "Zendesk"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.SlugField(
        max_length=100,
        unique=True,
        help_text="The source name of its measurements: the name an agreement's measured_by lists",
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="The signing secret the tool shows (PagerDuty); empty when the tool "
        "authenticates with an ingest API key",
    )
    previous_secret = models.CharField(max_length=200, blank=True, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    service_label = models.CharField(
        max_length=100,
        default="service",
        help_text="Alertmanager: the alert label that names the service",
    )
    outage_severities = models.CharField(
        max_length=200,
        blank=True,
        help_text="Comma-separated values meaning an outage (the alert label 'severity'; "
        "PagerDuty's priority or urgency); anything else is degraded. Empty: 'critical' "
        "for Alertmanager, 'high' for PagerDuty",
    )
    waiting_statuses = models.CharField(
        max_length=500,
        blank=True,
        help_text="Jira, Zendesk: comma-separated ticket statuses that pause the clock (rule 8) "
        "while a ticket is in one. Empty: 'pending, hold' for Zendesk, 'Waiting for customer' "
        "for Jira",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=["alertmanager", "uptime-kuma", "pagerduty", "jira", "zendesk"]
                ),
                name="integrations_integration_kind_valid",
                violation_error_message="This kind of integration is not supported.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def rotate(self, new_secret: str | None = None, *, now: dt.datetime | None = None) -> str:
        """Replace the secret; the old one stays valid for ``PREVIOUS_SECRET_GRACE``.
        Returns the new secret (a random one when none is given). Not saved."""
        self.previous_secret = self.secret
        self.secret = new_secret or secrets.token_urlsafe(32)
        self.rotated_at = now or timezone.now()
        return self.secret

    def valid_secrets(self, now: dt.datetime) -> list[str]:
        """The secrets a signature may be made with at ``now``: the current one, and the
        previous one for a day after a rotation."""
        found = [self.secret] if self.secret else []
        if (
            self.previous_secret
            and self.rotated_at is not None
            and now - self.rotated_at < PREVIOUS_SECRET_GRACE
        ):
            found.append(self.previous_secret)
        return found

    def outage_words(self) -> set[str]:
        """The severities (lower case) that make an incident an outage."""
        words = {w.strip().lower() for w in self.outage_severities.split(",") if w.strip()}
        return words or set(DEFAULT_OUTAGE_SEVERITIES.get(self.kind, ()))

    def waiting_words(self) -> set[str]:
        """The ticket statuses (lower case) during which a ticket's clock stands still."""
        words = {w.strip().lower() for w in self.waiting_statuses.split(",") if w.strip()}
        return words or set(DEFAULT_WAITING_STATUSES.get(self.kind, ()))


DEFAULT_OUTAGE_SEVERITIES: dict[str, tuple[str, ...]] = {
    Integration.Kind.ALERTMANAGER: ("critical",),
    Integration.Kind.PAGERDUTY: ("high",),
}
DEFAULT_WAITING_STATUSES: dict[str, tuple[str, ...]] = {
    Integration.Kind.JIRA: ("waiting for customer",),
    Integration.Kind.ZENDESK: ("pending", "hold"),
}


class ServiceMapping(models.Model):
    """An external name (an alert label value, a monitor name, a PagerDuty service name
    or id) that means one of our services. A name equal to a service key needs none."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="mappings")
    external_name = models.CharField(max_length=200)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["integration", "external_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_name"],
                name="integrations_mapping_unique",
                violation_error_message="This integration already maps this external name to a service.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.external_name} → {self.service.key}"


class CustomerMapping(models.Model):
    """An external name of a ticket's customer (a Zendesk organisation id or name, a Jira
    project key) that means one of our customers. A name equal to a customer key needs
    none."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="customer_mappings"
    )
    external_name = models.CharField(max_length=200)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["integration", "external_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_name"],
                name="integrations_customer_map_unique",
                violation_error_message="This integration already maps this external name to a customer.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.external_name} → {self.customer.key}"


class PriorityMapping(models.Model):
    """A ticket priority as the tool names it (Jira's "Highest", Zendesk's "urgent") and
    the priority our agreements name (an objective's ``priority``, e.g. P1). Unmapped
    priorities are stored as the tool sends them."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="priority_mappings"
    )
    external_name = models.CharField(max_length=200)
    priority = models.CharField(max_length=32)

    class Meta:
        ordering = ["integration", "external_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_name"],
                name="integrations_priority_map_unique",
                violation_error_message="This integration already maps this external priority.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.external_name} → {self.priority}"


class Delivery(models.Model):
    """One webhook request as it arrived and what came of it, for staff."""

    kind = models.CharField(max_length=20, choices=Integration.Kind.choices)
    integration = models.ForeignKey(
        Integration, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    source = models.CharField(max_length=100, blank=True, help_text="key or integration name")
    received_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField()
    accepted = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True, help_text='[{"index", "reason"}]')
    error = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text=f"the first {BODY_KEPT_CHARS} characters")

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The admin's newest-first list and the pruning of old rows.
            models.Index(fields=["received_at"], name="integrations_delivery_time")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.received_at:%Y-%m-%d %H:%M:%S} → {self.status_code}"


class PrometheusSource(models.Model):
    """A Prometheus server the portal reads measurements from (SPEC §4, Integrations,
    Pull): where it is, how to authenticate, and how far it has been read."""

    class State(models.TextChoices):
        NEW = "new", "never pulled"
        OK = "ok", "pulling"
        FAILING = "failing", "failing"

    name = models.SlugField(
        max_length=100,
        unique=True,
        help_text="The source name of its measurements: the name an agreement's measured_by lists",
    )
    base_url = models.URLField(
        max_length=500, help_text="e.g. http://prometheus.internal:9090 (the API is under /api/v1/)"
    )
    bearer_token = models.CharField(max_length=500, blank=True)
    basic_username = models.CharField(max_length=200, blank=True)
    basic_password = models.CharField(max_length=200, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, help_text="per request to Prometheus"
    )
    enabled = models.BooleanField(default=True, help_text="read by beat every minute")
    pulled_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="the last step read; the next pull starts one step later",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.NEW)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["new", "ok", "failing"]),
                name="integrations_prometheussource_state_valid",
                violation_error_message="The state must be new, ok or failing.",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1),
                name="integrations_prometheussource_timeout_positive",
                violation_error_message="The timeout must be at least 1 second.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PrometheusQuery(models.Model):
    """The PromQL that measures one service at one source: probe success (0 or 1 per
    series, each series a probe location) with an optional latency in seconds, or good
    and total event counts per step."""

    class Kind(models.TextChoices):
        PROBES = "probes", "probe success and latency"
        EVENTS = "events", "good and total events"

    source = models.ForeignKey(PrometheusSource, on_delete=models.CASCADE, related_name="queries")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PROBES)
    probe_success = models.TextField(blank=True, help_text='e.g. probe_success{job="blackbox"}')
    probe_latency_seconds = models.TextField(
        blank=True, help_text='e.g. probe_duration_seconds{job="blackbox"}'
    )
    good = models.TextField(blank=True, help_text="events that met the objective, per minute")
    total = models.TextField(blank=True, help_text="all events, per minute")

    class Meta:
        ordering = ["source", "service"]
        verbose_name_plural = "Prometheus queries"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "service"],
                name="integrations_prometheusquery_unique",
                violation_error_message="This source already has a query for this service.",
            ),
            models.CheckConstraint(
                condition=(Q(kind="probes") & ~Q(probe_success=""))
                | (Q(kind="events") & ~Q(good="") & ~Q(total="")),
                name="integrations_prometheusquery_complete",
                violation_error_message="A probes query needs its success expression; an events query needs both its good and total expressions.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.name}: {self.service.key} ({self.kind})"
