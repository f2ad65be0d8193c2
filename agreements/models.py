"""Terms: customers, services, agreements, objectives, calendars and versions.

The normalized rows (Objective, CreditTier, Calendar, ...) are the agreement's current
terms, edited through documents or admin. Each change of terms also appends a
TermsVersion holding a snapshot of the terms and the period it takes effect in, and
evaluations of a period always read the snapshot in force for that period, so closed
periods keep the terms they were closed with.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Customer(models.Model):
    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Tickets opened before this instant belong to a closed period (flagged late).
    closed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        MANAGER = "manager", "Manager"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "customer"],
                name="agreements_membership_unique_user_customer",
                violation_error_message="This person is already a member of this customer.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["viewer", "manager"]),
                name="agreements_membership_role_valid",
                violation_error_message="The role must be viewer or manager.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer} ({self.role})"


class Service(models.Model):
    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=200, blank=True, help_text="Who supplies it")
    public = models.BooleanField(
        default=False, help_text="Shown on the public status page (/status/) without sign-in"
    )
    # Measurements before this instant belong to a closed period of some agreement using
    # the service; they are still stored, but flagged late (SPEC rule 13).
    closed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key


class AgreementQuerySet(models.QuerySet["Agreement"]):
    def for_customer(self, customer: Customer | int | None) -> AgreementQuerySet:
        return self.filter(customer=customer)

    def visible_to(self, user: object) -> AgreementQuerySet:
        if getattr(user, "is_staff", False):
            return self
        return self.filter(customer__memberships__user=user)

    def active_on(self, day: object) -> AgreementQuerySet:
        return self.filter(effective_from__lte=day).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=day)
        )


class Agreement(models.Model):
    key = models.SlugField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="agreements")
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Inclusive")
    currency = models.CharField(max_length=3)
    monthly_fee = models.DecimalField(max_digits=14, decimal_places=2)
    credit_cap_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(100),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    claim_window_days = models.PositiveIntegerField(default=0)
    maintenance_notice_hours = models.PositiveIntegerField(default=0)
    data_grace_hours = models.PositiveIntegerField(default=24)
    notice_period_days = models.PositiveIntegerField(null=True, blank=True)
    # Contract life (SPEC §2, rule 20): renewal, contacts, undertakings, statement recipients.
    auto_renew_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="Renews for this long at its end unless notice is given"
    )
    contacts = models.JSONField(default=list, blank=True)
    responsibilities = models.JSONField(default=dict, blank=True)
    reports = models.JSONField(
        default=list, blank=True, help_text='Monthly statement recipients: [{"to": email}]'
    )
    measured_by = models.JSONField(
        default=list,
        blank=True,
        help_text="Names of the API keys whose measurements of this agreement's services "
        "count; empty means any key allowed to write them",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="agreements_agreement_effective_range",
                violation_error_message="The agreement must not end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(credit_cap_percent__gte=0, credit_cap_percent__lte=100),
                name="agreements_agreement_cap_percent_range",
                violation_error_message="The credit cap must be a percent between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(monthly_fee__gte=0),
                name="agreements_agreement_fee_not_negative",
                violation_error_message="The monthly fee must not be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def latest_version(self) -> TermsVersion | None:
        return self.versions.order_by("-number").first()

    def version_for(self, period: str) -> TermsVersion | None:
        """The terms in force in ``period``: the newest version taking effect by then."""
        return (
            self.versions.filter(effective_period__lte=period)
            .order_by("-effective_period", "-number")
            .first()
        )


class Calendar(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="calendars")
    key = models.SlugField(max_length=64)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "key"],
                name="agreements_calendar_unique_key",
                violation_error_message="This agreement already has a calendar with this key.",
            ),
            models.CheckConstraint(
                condition=~Q(key="always"),
                name="agreements_calendar_key_not_always",
                violation_error_message='The key "always" is reserved for round-the-clock coverage: choose another.',
            ),
        ]

    def __str__(self) -> str:
        return self.key


class CalendarRange(models.Model):
    """A weekly local wall-clock range [start, end) in minutes of the day (1440 = 24:00)."""

    class Weekday(models.IntegerChoices):
        MON = 0, "Monday"
        TUE = 1, "Tuesday"
        WED = 2, "Wednesday"
        THU = 3, "Thursday"
        FRI = 4, "Friday"
        SAT = 5, "Saturday"
        SUN = 6, "Sunday"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="ranges")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="agreements_calendarrange_weekday_valid",
                violation_error_message="The weekday must be Monday to Sunday.",
            ),
            models.CheckConstraint(
                condition=Q(start_minute__gte=0, end_minute__lte=1440)
                & Q(start_minute__lt=models.F("end_minute")),
                name="agreements_calendarrange_minutes_valid",
                violation_error_message="A range must start before it ends, within one day (00:00 to 24:00).",
            ),
        ]

    def __str__(self) -> str:
        day = self.get_weekday_display()
        return f"{day} {fmt_minute(self.start_minute)}-{fmt_minute(self.end_minute)}"


def fmt_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Holiday(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="agreements_holiday_unique_date",
                violation_error_message="This calendar already has a holiday on this date.",
            )
        ]

    def __str__(self) -> str:
        return self.date.isoformat()


class Objective(models.Model):
    class Indicator(models.TextChoices):
        AVAILABILITY = "availability", "Availability"
        LATENCY = "latency", "Latency"
        RATIO = "ratio", "Ratio"
        RESPONSE_TIME = "response_time", "Response time"
        RESOLUTION_TIME = "resolution_time", "Resolution time"
        MTTR = "mttr", "Mean time to restore"
        MTBF = "mtbf", "Mean time between failures"
        MEAN_LATENCY = "mean_latency", "Mean latency"
        JITTER = "jitter", "Jitter"
        METRIC_MEAN = "metric_mean", "Metric mean"
        METRIC_SUM = "metric_sum", "Volume commitment"

    class Source(models.TextChoices):
        PROBES = "probes", "Probes"
        INCIDENTS = "incidents", "Incidents"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="objectives")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(max_length=64)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="objectives"
    )
    indicator = models.CharField(max_length=20, choices=Indicator.choices)
    source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    target = models.DecimalField(max_digits=7, decimal_places=4)
    calendar = models.ForeignKey(
        Calendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="objectives",
        help_text="Coverage calendar; empty means always",
    )
    threshold_ms = models.PositiveIntegerField(null=True, blank=True)
    threshold_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The further forms of rules 15-17 as their document writes them: max or min, metric,
    # carry_over, and a bounded value's tiers (in its unit, so not CreditTier rows).
    form = models.JSONField(default=dict, blank=True)
    priority = models.CharField(max_length=32, blank=True)
    # Rule 18: an availability objective over several services (their keys, instead of
    # ``service``), combined "all" (in series) or "any" (redundant).
    services = models.JSONField(default=list, blank=True)
    # The same services as rows, for finding the agreements a measurement concerns.
    listed_services = models.ManyToManyField(Service, blank=True, related_name="listed_in")
    combine = models.CharField(max_length=3, blank=True)
    # Rule 12: bonus tiers [{"above", "percent"}] the provider earns, as in the document.
    bonus = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["agreement", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "key"],
                name="agreements_objective_unique_key",
                violation_error_message="This agreement already has an objective with this key.",
            ),
            models.CheckConstraint(
                condition=Q(target__gt=0, target__lte=100),
                name="agreements_objective_target_range",
                violation_error_message="The target must be a percent above 0 and at most 100.",
            ),
            models.CheckConstraint(
                condition=Q(
                    indicator__in=[
                        "availability",
                        "latency",
                        "ratio",
                        "response_time",
                        "resolution_time",
                        "mttr",
                        "mtbf",
                        "mean_latency",
                        "jitter",
                        "metric_mean",
                        "metric_sum",
                    ]
                ),
                name="agreements_objective_indicator_valid",
                violation_error_message="This indicator is not one the portal measures.",
            ),
            # Measurement indicators need a service (or several: combine is set only
            # with services, rule 18); only availability has a source.
            models.CheckConstraint(
                condition=Q(indicator__in=["response_time", "resolution_time"])
                | Q(service__isnull=False)
                | Q(indicator="availability", combine__in=["all", "any"]),
                name="agreements_objective_service_required",
                violation_error_message="This objective needs a service (only ticket objectives and combined availability go without).",
            ),
            models.CheckConstraint(
                condition=(Q(indicator="availability") & Q(source__in=["probes", "incidents"]))
                | (~Q(indicator="availability") & Q(source="")),
                name="agreements_objective_source_valid",
                violation_error_message="Only an availability objective takes a source (probes or incidents); leave it empty for the others.",
            ),
            models.CheckConstraint(
                condition=~Q(indicator="latency") | Q(threshold_ms__gt=0),
                name="agreements_objective_latency_threshold",
                violation_error_message="A latency objective needs a threshold in milliseconds above 0.",
            ),
            models.CheckConstraint(
                condition=~Q(indicator__in=["response_time", "resolution_time"])
                | Q(threshold_seconds__gt=0),
                name="agreements_objective_ticket_threshold",
                violation_error_message="A ticket objective needs a time limit in seconds above 0.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key}/{self.key}"


class CreditTier(models.Model):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="tiers")
    below = models.DecimalField(max_digits=7, decimal_places=4)
    percent = models.DecimalField(max_digits=7, decimal_places=4)

    class Meta:
        ordering = ["objective", "-below"]
        constraints = [
            models.UniqueConstraint(
                fields=["objective", "below"],
                name="agreements_credittier_unique_below",
                violation_error_message="This objective already has a tier with this bound: each tier needs its own.",
            ),
            models.CheckConstraint(
                condition=Q(below__gt=0, below__lte=100),
                name="agreements_credittier_below_range",
                violation_error_message="A tier's bound must be a percent above 0 and at most 100.",
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0, percent__lte=100),
                name="agreements_credittier_percent_range",
                violation_error_message="A tier's credit must be a percent above 0 and at most 100.",
            ),
        ]

    def __str__(self) -> str:
        return f"below {self.below}%: {self.percent}%"


class EscalationLevel(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="escalation")
    level = models.PositiveSmallIntegerField()
    after_seconds = models.PositiveIntegerField(default=0)
    contact = models.EmailField()

    class Meta:
        ordering = ["agreement", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "level"],
                name="agreements_escalationlevel_unique_level",
                violation_error_message="This agreement already has this escalation level.",
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1),
                name="agreements_escalationlevel_level_positive",
                violation_error_message="Escalation levels start at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.level}: {self.contact}"


class TermsVersion(models.Model):
    """An append-only snapshot of an agreement's terms and the period it takes effect in."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    effective_period = models.CharField(max_length=7, help_text="YYYY-MM")
    terms = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["agreement", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "number"],
                name="agreements_termsversion_unique_number",
                violation_error_message="This agreement already has a terms version with this number.",
            ),
            models.CheckConstraint(
                condition=Q(effective_period__regex=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
                name="agreements_termsversion_period_format",
                violation_error_message="The period must be a month written YYYY-MM, e.g. 2026-03.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.key} v{self.number} from {self.effective_period}"


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A partner's key. Only a SHA-256 digest of the secret is stored."""

    class Scope(models.TextChoices):
        INGEST = "ingest", "Ingest measurements"
        READ = "read", "Read results"
        WRITE = "write", "Write agreements and webhooks"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to tell keys apart")
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="When set, the key sees and writes only this customer's data",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(secret: str) -> str:
        # Secrets are 256-bit random strings, so a plain digest is enough (no brute force).
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def generate(
        cls, *, name: str, scopes: list[str], customer: Customer | None
    ) -> tuple[ApiKey, str]:
        prefix = secrets.token_hex(4)
        secret = f"sla_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            name=name,
            prefix=prefix,
            digest=cls.hash(secret),
            scopes=sorted(set(scopes)),
            customer=customer,
        )
        return key, secret

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _document_path(instance: AgreementDocument, filename: str) -> str:
    return f"agreements/{instance.agreement.key}/{filename}"


class AgreementDocument(models.Model):
    """A file staff attach to an agreement (the signed contract, a policy) for the customer."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=_document_path)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
