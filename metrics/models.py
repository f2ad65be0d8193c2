"""Measurements and the summaries that keep recomputation independent of history.

Raw probe results and event counts are append-only and identified as SPEC §4 says;
incidents, maintenance windows and tickets are upserted by their external id. Per
service and UTC minute (and per UTC day) summaries hold exactly the counts the rules
need, maintained in the same transaction as the raw rows they summarise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agreements.engine import minute_state_sql
from agreements.models import ApiKey, Customer, Service


class ProbeResult(models.Model):
    """One probe result. On PostgreSQL the table is partitioned by month of ``ts``."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, db_constraint=False)
    probe = models.CharField(max_length=64, default="default")
    ts = models.DateTimeField()
    ok = models.BooleanField()
    latency_ms = models.FloatField(null=True, blank=True)
    late = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Identity (service, ts, probe) in this order, so that the same index also
            # serves the open period's latency scans by service and time range: a second
            # index would slow every insert by a third.
            models.UniqueConstraint(
                fields=["service", "ts", "probe"],
                name="metrics_proberesult_identity",
                violation_error_message="This probe already reported a result for this service at this time.",
            ),
            models.CheckConstraint(
                condition=Q(latency_ms__isnull=True) | Q(latency_ms__gte=0),
                name="metrics_proberesult_latency_not_negative",
                violation_error_message="The latency must not be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.probe} {self.ts:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'failed'}"


# The probe summaries (minute, hour, day and latency per hour and day) are written by every
# ingestion batch, a row per service and period it touches. Their service column has no
# database foreign key and no index of its own: the key index (service, ...) serves every
# lookup by service, and a deferred foreign-key check costs each new summary row a lookup
# at commit, about a fifth of a batch's database time. Ingestion writes only services it
# has just read, and deleting a service still cascades to these rows (Django collects them).


class ProbeMinuteQuerySet(models.QuerySet["ProbeMinute"]):
    def down(self) -> ProbeMinuteQuerySet:
        """Minutes that are down by rule 4, the SQL taken from ``engine.minute_state_sql``."""
        table = connection.ops.quote_name(self.model._meta.db_table)
        _, down = minute_state_sql(f"{table}.ok", f"{table}.failed")
        # The text is built from column names only, never from input.
        return self.filter(RawSQL(down, (), output_field=models.BooleanField()))  # noqa: S611


class ProbeMinute(models.Model):
    """Probe results of one service in one UTC minute, summed over probe locations."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    minute = models.DateTimeField()
    # Probe identity (service, ts, probe) bounds no minute's count: 64 bits, which no
    # number of rows fills (see metrics.limits).
    ok = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)

    objects = ProbeMinuteQuerySet.as_manager()

    class Meta:
        constraints = [
            # Also the index availability reads by (service, minute range).
            models.UniqueConstraint(
                fields=["service", "minute"],
                name="metrics_probeminute_key",
                violation_error_message="This service already has a probe summary for this minute.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.minute:%Y-%m-%d %H:%M}: {self.ok} ok, {self.failed} failed"


class ProbeDay(models.Model):
    """Minutes of one service in one UTC day by state (rule 4), rebuilt from ProbeMinute."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    day = models.DateField()
    # Plain integers: they are maintained by adding signed deltas (see metrics.services).
    up = models.IntegerField(default=0)
    down = models.IntegerField(default=0)
    probes_ok = models.BigIntegerField(default=0)
    probes_failed = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "day"],
                name="metrics_probeday_key",
                violation_error_message="This service already has a probe summary for this day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day}: {self.up} up, {self.down} down"


class EventCount(models.Model):
    service = models.ForeignKey(Service, on_delete=models.PROTECT)
    ts = models.DateTimeField()
    good = models.PositiveBigIntegerField()
    total = models.PositiveBigIntegerField()
    late = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Identity (service, ts); also the index ratio figures read by time range.
            models.UniqueConstraint(
                fields=["service", "ts"],
                name="metrics_eventcount_identity",
                violation_error_message="This service already has event counts at this time.",
            ),
            models.CheckConstraint(
                condition=Q(good__lte=models.F("total")),
                name="metrics_eventcount_good_le_total",
                violation_error_message="The good events must not outnumber the total.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.ts:%Y-%m-%d %H:%M:%S}: {self.good}/{self.total}"


class EventMinute(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE)
    minute = models.DateTimeField()
    good = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "minute"],
                name="metrics_eventminute_key",
                violation_error_message="This service already has event counts for this minute.",
            ),
            models.CheckConstraint(
                condition=Q(good__lte=models.F("total")),
                name="metrics_eventminute_good_le_total",
                violation_error_message="The good events must not outnumber the total.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.minute:%Y-%m-%d %H:%M}: {self.good}/{self.total}"


class Sample(models.Model):
    """One sample of a numeric metric (rule 16): (service, metric, ts, value), the value in
    the metric's own unit."""

    # No index of their own: every read, and the identity check, goes through the
    # identity's (service, metric, ts), and each further index slowed ingestion.
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    metric = models.SlugField(max_length=64, db_index=False)
    ts = models.DateTimeField()
    value = models.DecimalField(max_digits=16, decimal_places=6)
    late = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Identity (service, metric, ts); also the index raw reads use by time range.
            models.UniqueConstraint(
                fields=["service", "metric", "ts"],
                name="metrics_sample_identity",
                violation_error_message="This service already has a sample of this metric at this time.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.metric} {self.ts:%Y-%m-%d %H:%M:%S}: {self.value}"


class SampleMinute(models.Model):
    """Samples of one metric of one service in one UTC minute: how many, and their sum, so
    a period's mean or sum (rules 15, 17) never rescans raw rows."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    metric = models.SlugField(max_length=64, db_index=False)  # read through the key below
    minute = models.DateTimeField()
    count = models.PositiveBigIntegerField(default=0)
    # The sum in millionths, a whole number: SQL sums it exactly on every backend (SQLite
    # sums decimals as floats). Values are at most 10^9 (metrics.ingest), so 9,000 samples
    # of the largest value fit a minute's 64 bits.
    total_micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index the period reads use by (service, metric, minute range).
            models.UniqueConstraint(
                fields=["service", "metric", "minute"],
                name="metrics_sampleminute_key",
                violation_error_message="This service already has a summary of this metric for this minute.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.metric} {self.minute:%Y-%m-%d %H:%M}: {self.count}"


class Incident(models.Model):
    class Impact(models.TextChoices):
        OUTAGE = "outage", "Outage"
        DEGRADED = "degraded", "Degraded"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="incidents")
    external_id = models.CharField(max_length=128)
    title = models.CharField(max_length=300)
    impact = models.CharField(max_length=16, choices=Impact.choices)
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    postmortem_url = models.URLField(
        max_length=500, blank=True, help_text="A public write-up, linked from the status page"
    )
    late = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "external_id"],
                name="metrics_incident_identity",
                violation_error_message="This service already has an incident with this external id: change that one instead.",
            ),
            models.CheckConstraint(
                condition=Q(impact__in=["outage", "degraded"]),
                name="metrics_incident_impact_valid",
                violation_error_message="The impact must be outage or degraded.",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("started_at")),
                name="metrics_incident_resolved_after_start",
                violation_error_message="An incident cannot be resolved before it started.",
            ),
        ]
        indexes = [
            # Evaluations fetch a service's incidents overlapping a period.
            models.Index(fields=["service", "started_at"], name="metrics_incident_svc_start"),
        ]

    def __str__(self) -> str:
        return f"{self.service.key}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class IncidentUpdate(models.Model):
    """The timeline of an incident: every change a partner sent, with what changed."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"update of incident {self.incident_id} at {self.at:%Y-%m-%d %H:%M}"


class IncidentStatusUpdate(models.Model):
    """The public timeline of an incident (SPEC §4 ``updates``): what the provider told
    everyone, and when. ``IncidentUpdate`` is the internal change log of the record; this
    is prose written for people, shown on the status page and the agreement page."""

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_updates")
    at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    message = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            # An update is identified by its instant and status: re-sending it stores
            # nothing new, a changed message replaces the stored one.
            models.UniqueConstraint(
                fields=["incident", "at", "status"],
                name="metrics_incidentstatusupdate_identity",
                violation_error_message="This incident already has this status at this time.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["investigating", "identified", "monitoring", "resolved"]),
                name="metrics_incidentstatusupdate_status_valid",
                violation_error_message="The status must be investigating, identified, monitoring or resolved.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} at {self.at:%Y-%m-%d %H:%M}"


class Maintenance(models.Model):
    """A maintenance window (SPEC §3 rule 3). A recurring one is its first occurrence,
    holding the ``recurrence`` rule; each later occurrence is a window of its own whose
    ``series`` is the first (see ``metrics.recurrence``)."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="maintenance")
    # An occurrence's is its series' external id, "@" and its start (YYYYMMDDTHHMMSSZ).
    external_id = models.CharField(max_length=150)
    title = models.CharField(max_length=300)
    start = models.DateTimeField()
    end = models.DateTimeField()
    announced_at = models.DateTimeField()
    late = models.BooleanField(default=False)
    recurrence = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="RFC 5545 RRULE on the first occurrence, e.g. FREQ=WEEKLY;BYDAY=SU (UTC).",
    )
    series = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="occurrences",
        help_text="The first occurrence of the recurring window this one belongs to.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start"]
        verbose_name_plural = "maintenance windows"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "external_id"],
                name="metrics_maintenance_identity",
                violation_error_message="This service already has a maintenance with this external id: change that one instead.",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="metrics_maintenance_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
        ]
        indexes = [
            models.Index(fields=["service", "start"], name="metrics_maintenance_svc_start"),
        ]

    def __str__(self) -> str:
        return f"{self.service.key}: {self.title}"


class Exclusion(models.Model):
    """Time the provider is not answerable for (SPEC §3 rule 3), recorded by its staff:
    removed from the service's covered time whatever its notice, and listed with its
    reason wherever the figures it changed are shown."""

    class Reason(models.TextChoices):
        FORCE_MAJEURE = "force_majeure", "force majeure"
        CUSTOMER_CAUSED = "customer_caused", "caused by the customer"
        THIRD_PARTY = "third_party", "a third party"
        MONITORING_FAULT = "monitoring_fault", "a fault of the monitoring"
        OTHER = "other", "other"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="exclusions")
    external_id = models.CharField(max_length=128)
    start = models.DateTimeField(help_text="UTC")
    end = models.DateTimeField(help_text="UTC")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(help_text="Why the provider is not answerable for this time.")
    recorded_by = models.CharField(max_length=150, editable=False)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "external_id"],
                name="metrics_exclusion_identity",
                violation_error_message="This service already has an exclusion with this "
                "external id: change that one instead.",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="metrics_exclusion_end_after_start",
                violation_error_message="The end must be after the start.",
            ),
            models.CheckConstraint(
                condition=Q(
                    reason__in=[
                        "force_majeure",
                        "customer_caused",
                        "third_party",
                        "monitoring_fault",
                        "other",
                    ]
                ),
                name="metrics_exclusion_reason_valid",
                violation_error_message="The reason must be force majeure, customer caused, third party, monitoring fault or other.",
            ),
        ]
        indexes = [
            # Evaluation and pages read a service's exclusions overlapping a period.
            models.Index(fields=["service", "start"], name="metrics_exclusion_svc_start"),
        ]

    def __str__(self) -> str:
        return f"{self.service.key}: {self.get_reason_display()} ({self.external_id})"


class Ticket(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    external_id = models.CharField(max_length=128)
    priority = models.CharField(max_length=32)
    opened_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Intervals the ticket's clock stood still (rule 8), as [from, to] ISO 8601 UTC pairs in
    # time order; to is null while still paused. Read with the ticket itself, so evaluating
    # many tickets needs no query per ticket.
    paused = models.JSONField(default=list, blank=True)
    late = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "external_id"],
                name="metrics_ticket_identity",
                violation_error_message="This customer already has a ticket with this external id: change that one instead.",
            ),
            models.CheckConstraint(
                condition=Q(first_response_at__isnull=True)
                | Q(first_response_at__gte=models.F("opened_at")),
                name="metrics_ticket_response_after_open",
                violation_error_message="The first response cannot come before the ticket was opened.",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("opened_at")),
                name="metrics_ticket_resolved_after_open",
                violation_error_message="A ticket cannot be resolved before it was opened.",
            ),
        ]
        indexes = [
            # Ticket objectives read a customer's tickets opened in a period.
            models.Index(fields=["customer", "opened_at"], name="metrics_ticket_cust_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.customer.key}/{self.external_id}"

    @property
    def pauses(self) -> tuple[tuple[dt.datetime, dt.datetime | None], ...]:
        """The stored pauses as (start, end | None) aware UTC datetimes, for the engine."""
        return pauses_from_json(self.paused)


def pauses_from_json(
    stored: list[list[str | None]] | None,
) -> tuple[tuple[dt.datetime, dt.datetime | None], ...]:
    """``Ticket.paused`` ([[from, to | null], ...] ISO 8601) as engine pauses."""
    return tuple(
        (
            dt.datetime.fromisoformat(start or ""),
            None if end is None else dt.datetime.fromisoformat(end),
        )
        for start, end in stored or ()
    )


class LateArrival(models.Model):
    """Data that arrived for an already closed period: stored, and shown to staff."""

    kind = models.CharField(max_length=16)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True)
    records = models.PositiveIntegerField()
    first_ts = models.DateTimeField()
    last_ts = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    reviewed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.records} late {self.kind} received {self.received_at:%Y-%m-%d %H:%M}"


class IngestionBatchQuerySet(models.QuerySet["IngestionBatch"]):
    def for_services(self, ids: Iterable[int]) -> IngestionBatchQuerySet:
        return self.filter(services__in=list(ids)).distinct()

    def for_customers(self, ids: Iterable[int]) -> IngestionBatchQuerySet:
        return self.filter(customers__in=list(ids)).distinct()

    def within(self, start: dt.datetime, end: dt.datetime) -> IngestionBatchQuerySet:
        """Batches holding measurements in ``[start, end)``: their spans overlap it."""
        return self.filter(first_ts__lt=end, last_ts__gte=start)


class IngestionKind(models.TextChoices):
    """What a batch holds: the ingestion endpoint it came through."""

    PROBES = "probes"
    EVENTS = "events"
    TICKETS = "tickets"
    INCIDENTS = "incidents"
    MAINTENANCE = "maintenance"
    SAMPLES = "samples"


class IngestionBatch(models.Model):
    """One ingestion batch that was stored: its source, endpoint, counts and time span.

    Written in the transaction that stores the batch, so the log never names data that
    was rolled back, nor misses data that was kept. A statement's evidence of where its
    figures came from reads it (``for_services(...).within(start, end)``).
    """

    kind = models.CharField(max_length=16, choices=IngestionKind.choices)
    endpoint = models.CharField(max_length=200, help_text="The path the batch was sent to")
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ingestion_batches",
    )
    source = models.CharField(max_length=100, help_text="The API key's name when it was sent")
    services = models.ManyToManyField(Service, blank=True, related_name="ingestion_batches")
    customers = models.ManyToManyField(Customer, blank=True, related_name="ingestion_batches")
    records = models.PositiveIntegerField()
    accepted = models.PositiveIntegerField()
    duplicates = models.PositiveIntegerField()
    late = models.PositiveIntegerField(default=0)
    first_ts = models.DateTimeField(help_text="The earliest instant a record of it is about")
    last_ts = models.DateTimeField(help_text="The latest instant a record of it is about")
    received_at = models.DateTimeField(default=timezone.now)

    objects = IngestionBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "ingestion batches"
        # Index names are limited to 30 characters, hence "batch" for "ingestionbatch".
        indexes = [
            # The admin's list, newest first, and its date hierarchy.
            models.Index(fields=["-received_at"], name="metrics_batch_received"),
            # within(start, end): the statement's evidence for a period.
            models.Index(fields=["first_ts", "last_ts"], name="metrics_batch_span"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=IngestionKind.values),
                name="metrics_ingestionbatch_kind_valid",
                violation_error_message="This kind of data is not one the portal takes in.",
            ),
            models.CheckConstraint(
                condition=Q(first_ts__lte=models.F("last_ts")),
                name="metrics_ingestionbatch_span_ordered",
                violation_error_message="The batch's first time must not be after its last.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.records} {self.kind} from {self.source} at {self.received_at:%Y-%m-%d %H:%M}"


class LatencyThreshold(models.Model):
    """A latency threshold some objective uses on a service: summarised per day from then on."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE)
    threshold_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "threshold_ms"],
                name="metrics_latencythreshold_key",
                violation_error_message="This service already counts latency at this threshold.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} <= {self.threshold_ms} ms"


class ProbeLatencyDay(models.Model):
    """Successful probes of a service in one UTC day, and how many were within a threshold."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    day = models.DateField()
    threshold_ms = models.PositiveIntegerField()
    fast = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index latency figures read by (service, day range, threshold).
            models.UniqueConstraint(
                fields=["service", "day", "threshold_ms"],
                name="metrics_probelatencyday_key",
                violation_error_message="This service already has a latency summary for this day and threshold.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day} <= {self.threshold_ms} ms: {self.fast}/{self.total}"


class ProbeHour(models.Model):
    """Minutes of one service in one UTC hour by state (rule 4), like ProbeDay."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    hour = models.DateTimeField()
    up = models.IntegerField(default=0)
    down = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "hour"],
                name="metrics_probehour_key",
                violation_error_message="This service already has a probe summary for this hour.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.hour:%Y-%m-%d %H}h: {self.up} up, {self.down} down"


class ProbeLatencyHour(models.Model):
    """As ProbeLatencyDay, per UTC hour: covered time rarely starts on a day boundary."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    hour = models.DateTimeField()
    threshold_ms = models.PositiveIntegerField()
    fast = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "hour", "threshold_ms"],
                name="metrics_probelatencyhour_key",
                violation_error_message="This service already has a latency summary for this hour and threshold.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.hour:%Y-%m-%d %H}h <= {self.threshold_ms} ms"
