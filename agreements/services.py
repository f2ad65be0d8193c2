"""Writes that touch several rows of the terms: importing and versioning agreements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from agreements.document import (
    LIFE_KEYS,
    WEEKDAYS,
    DocumentError,
    format_duration,
    format_range,
    parse_duration,
    parse_range,
    terms_of,
    validate,
)
from agreements.document.forms import (
    BOUNDED_INDICATORS,
    FORM_INDICATORS,
    form_fields,
    implied_target,
)
from agreements.models import (
    Agreement,
    ApiKey,
    Calendar,
    CalendarRange,
    CreditTier,
    Customer,
    EscalationLevel,
    Holiday,
    Objective,
    Service,
    TermsVersion,
)


@dataclass(frozen=True)
class ImportResult:
    agreement: Agreement
    created: bool
    version: TermsVersion | None  # the version this import appended, if the terms changed

    def summary(self) -> str:
        verb = "created" if self.created else "updated"
        if self.version is None:
            return f"{self.agreement.key}: {verb}, terms unchanged"
        return (
            f"{self.agreement.key}: {verb}, terms version {self.version.number} "
            f"in effect from {self.version.effective_period}"
        )


def current_period(tz: str, *, now: dt.datetime | None = None) -> str:
    local = (now or timezone.now()).astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


@transaction.atomic
def agreement_import(
    *,
    data: object,
    actor: str = "",
    api_key: ApiKey | None = None,
    now: dt.datetime | None = None,
    effective_period: str | None = None,
    note: str = "",
) -> ImportResult:
    """Create or update an agreement from a parsed document (SPEC §2).

    A change of terms takes effect in the current period, or from ``effective_period``
    (YYYY-MM) when an accepted amendment names it (rule 20); ``note`` says how the terms
    came (the version's note). Raises DocumentError naming each invalid field; nothing is
    written then.
    """
    document = validate(data)
    customer_key = document["customer"]["key"]
    existing = (
        Agreement.objects.select_related("customer").filter(key=document["agreement"]).first()
    )
    bound = api_key.customer if api_key is not None else None
    if bound is not None and bound.key != customer_key:
        raise DocumentError(
            [("customer.key", "this API key may only write its own customer's agreements")]
        )
    if existing is not None and existing.customer.key != customer_key:
        raise DocumentError(
            [
                (
                    "customer.key",
                    f"agreement {existing.key!r} belongs to customer {existing.customer.key!r}",
                )
            ]
        )

    customer, _ = Customer.objects.get_or_create(
        key=customer_key, defaults={"name": document["customer"]["name"]}
    )
    if document["customer"]["name"] and customer.name != document["customer"]["name"]:
        customer.name = document["customer"]["name"]
        customer.save(update_fields=["name"])

    fields = {
        "customer": customer,
        "name": document["name"],
        "provider": document["provider"],
        "timezone": document["timezone"],
        "effective_from": dt.date.fromisoformat(document["effective_from"]),
        "effective_to": dt.date.fromisoformat(document["effective_to"])
        if document["effective_to"]
        else None,
        "currency": document["currency"],
        "monthly_fee": Decimal(document["monthly_fee"]),
        "credit_cap_percent": Decimal(str(document["credit_cap_percent"])),
        "claim_window_days": document["claim_window_days"],
        "maintenance_notice_hours": document["maintenance_notice_hours"],
        "data_grace_hours": document["data_grace_hours"],
        "notice_period_days": document["notice_period_days"],
        "measured_by": document["measured_by"],
        **{key: document[key] for key in LIFE_KEYS},
    }
    if existing is None:
        agreement = Agreement.objects.create(key=document["agreement"], **fields)
    else:
        agreement = existing
        for name, value in fields.items():
            setattr(agreement, name, value)
        agreement.save()

    _write_terms(agreement, document)
    version = record_terms_version(
        agreement=agreement,
        actor=actor,
        now=now,
        terms=terms_of(document),
        # Terms imported by staff, not through an accepted amendment, say so (rule 20).
        note=note or ("terms imported directly" if existing is not None else ""),
        effective_period=effective_period,
    )
    return ImportResult(agreement=agreement, created=existing is None, version=version)


def _write_terms(agreement: Agreement, document: dict[str, Any]) -> None:
    calendars: dict[str, Calendar] = {}
    for key, body in document["calendars"].items():
        calendar, _ = Calendar.objects.get_or_create(agreement=agreement, key=key)
        calendar.ranges.all().delete()
        calendar.holidays.all().delete()
        CalendarRange.objects.bulk_create(
            CalendarRange(
                calendar=calendar, weekday=WEEKDAYS.index(day), start_minute=s, end_minute=e
            )
            for day, ranges in body["weekly"].items()
            for s, e in (parse_range(r) for r in ranges)
        )
        Holiday.objects.bulk_create(
            Holiday(calendar=calendar, date=dt.date.fromisoformat(day)) for day in body["holidays"]
        )
        calendars[key] = calendar

    keep = [o["key"] for o in document["objectives"]]
    agreement.objectives.exclude(key__in=keep).delete()
    for position, item in enumerate(document["objectives"]):
        service = None
        if item.get("service"):
            service, _ = Service.objects.get_or_create(key=item["service"])
        listed = [Service.objects.get_or_create(key=key)[0] for key in item.get("services", ())]
        objective, _ = Objective.objects.update_or_create(
            agreement=agreement,
            key=item["key"],
            defaults={
                "position": position,
                "service": service,
                "indicator": item["indicator"],
                "source": item.get("source", ""),
                "target": Decimal(str(item["target"]))
                if "target" in item
                else implied_target(item["indicator"]),
                "calendar": calendars.get(item["coverage"]),
                "threshold_ms": item.get("threshold_ms"),
                "threshold_seconds": parse_duration(item["threshold"])
                if "threshold" in item
                else None,
                "priority": item.get("priority") or "",
                "services": item.get("services", []),
                "combine": item.get("combine", ""),
                "bonus": item.get("bonus", []),
                "form": form_fields(item),
            },
        )
        objective.listed_services.set(listed)
        objective.tiers.all().delete()
        CreditTier.objects.bulk_create(
            CreditTier(
                objective=objective,
                below=Decimal(str(t["below"])),
                percent=Decimal(str(t["percent"])),
            )
            for t in item["credits"]
            if item["indicator"] not in BOUNDED_INDICATORS
        )
    agreement.calendars.exclude(key__in=list(calendars)).delete()

    # Names and the public flag are the service's, not the agreement's: the last
    # document that describes a service sets them.
    for key, described in document.get("services", {}).items():
        Service.objects.filter(key=key).update(**described)

    agreement.escalation.all().delete()
    EscalationLevel.objects.bulk_create(
        EscalationLevel(
            agreement=agreement,
            level=step["level"],
            after_seconds=parse_duration(step["after"]),
            contact=step["contact"],
        )
        for step in document["escalation"]
    )


def record_terms_version(
    *,
    agreement: Agreement,
    actor: str = "",
    now: dt.datetime | None = None,
    terms: dict[str, Any] | None = None,
    note: str = "",
    effective_period: str | None = None,
) -> TermsVersion | None:
    """Append a version when the terms differ from the latest one; return it (or None).

    A new version takes effect in the current period (in the agreement's zone), or in the
    first period of the agreement if that lies ahead, or from ``effective_period`` when
    given and later: earlier periods keep their terms.
    """
    if terms is None:
        terms = terms_of(agreement_export(agreement))
    latest = agreement.versions.order_by("-number").select_for_update().first()
    if latest is not None and latest.terms == terms:
        return None
    first_period = f"{agreement.effective_from:%Y-%m}"
    if latest is None:
        period = first_period
    else:
        period = max(current_period(agreement.timezone, now=now), first_period)
        if effective_period is not None:
            period = max(period, effective_period)
    return TermsVersion.objects.create(
        agreement=agreement,
        number=(latest.number + 1) if latest else 1,
        effective_period=period,
        terms=terms,
        created_by=actor,
        note=note or ("initial terms" if latest is None else "terms changed"),
        created_at=now or timezone.now(),
    )


def _num(value: Decimal) -> int | str:
    if value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")


def _warnings_from_terms(agreement: Agreement, objectives: list[dict[str, Any]]) -> None:
    """``warn_at_percent`` lives only in the terms versions: copy it from the newest."""
    latest = agreement.versions.order_by("-number").values_list("terms", flat=True).first()
    warn = {
        o.get("key"): o["warn_at_percent"]
        for o in (latest or {}).get("objectives") or []
        if isinstance(o, dict) and o.get("warn_at_percent") is not None
    }
    for item in objectives:
        if item["key"] in warn:
            item["warn_at_percent"] = warn[item["key"]]


def agreement_export(agreement: Agreement) -> dict[str, Any]:
    """The canonical document of an agreement's current terms (same form as ``validate``)."""
    agreement = (
        Agreement.objects.select_related("customer")
        .prefetch_related(
            "calendars__ranges",
            "calendars__holidays",
            "objectives__tiers",
            "objectives__service",
            "objectives__calendar",
            "escalation",
        )
        .get(pk=agreement.pk)
    )
    calendars: dict[str, Any] = {}
    for calendar in agreement.calendars.all():
        weekly: dict[str, list[str]] = {}
        for r in sorted(calendar.ranges.all(), key=lambda r: (r.weekday, r.start_minute)):
            weekly.setdefault(WEEKDAYS[r.weekday], []).append(
                format_range(r.start_minute, r.end_minute)
            )
        calendars[calendar.key] = {
            "weekly": weekly,
            "holidays": sorted(h.date.isoformat() for h in calendar.holidays.all()),
        }
    objectives = []
    for o in sorted(agreement.objectives.all(), key=lambda o: o.position):
        item: dict[str, Any] = {"key": o.key, "indicator": o.indicator}
        if o.service is not None:
            item["service"] = o.service.key
        if o.source:
            item["source"] = o.source
        if o.indicator not in FORM_INDICATORS:
            item["target"] = _num(o.target)
        item["coverage"] = o.calendar.key if o.calendar else "always"
        if o.threshold_ms is not None:
            item["threshold_ms"] = o.threshold_ms
        if o.threshold_seconds is not None:
            item["threshold"] = format_duration(o.threshold_seconds)
        if o.priority:
            item["priority"] = o.priority
        item["credits"] = [
            {"below": _num(t.below), "percent": _num(t.percent)}
            for t in sorted(o.tiers.all(), key=lambda t: -t.below)
        ]
        if o.services:
            item["services"], item["combine"] = list(o.services), o.combine
        if o.bonus:
            item["bonus"] = list(o.bonus)
        item |= o.form
        objectives.append(item)
    _warnings_from_terms(agreement, objectives)
    described = {
        o.service.key: {
            "name": o.service.name,
            "provider": o.service.provider,
            "public": o.service.public,
        }
        for o in agreement.objectives.all()
        if o.service is not None and (o.service.name or o.service.provider or o.service.public)
    }
    described |= combined_services_described(agreement.objectives.all())
    return {
        "agreement": agreement.key,
        "customer": {"key": agreement.customer.key, "name": agreement.customer.name},
        "name": agreement.name,
        "provider": agreement.provider,
        "timezone": agreement.timezone,
        "effective_from": agreement.effective_from.isoformat(),
        "effective_to": agreement.effective_to.isoformat() if agreement.effective_to else None,
        "currency": agreement.currency,
        "monthly_fee": str(agreement.monthly_fee),
        "credit_cap_percent": _num(agreement.credit_cap_percent),
        "claim_window_days": agreement.claim_window_days,
        "maintenance_notice_hours": agreement.maintenance_notice_hours,
        "data_grace_hours": agreement.data_grace_hours,
        "notice_period_days": agreement.notice_period_days,
        "calendars": calendars,
        "objectives": objectives,
        "escalation": [
            {"level": e.level, "after": format_duration(e.after_seconds), "contact": e.contact}
            for e in agreement.escalation.all()
        ],
        "measured_by": list(agreement.measured_by),
        "services": dict(sorted(described.items())),
        **{key: getattr(agreement, key) for key in LIFE_KEYS},
    }


def combined_services_described(objectives: Any) -> dict[str, dict[str, Any]]:
    """The ``services`` map entries of the services listed by objectives over several
    services (rule 18), for the export: those with a name, supplier or public flag."""
    keys = {key for o in objectives for key in o.services}
    return {
        s.key: {"name": s.name, "provider": s.provider, "public": s.public}
        for s in Service.objects.filter(key__in=keys)
        if s.name or s.provider or s.public
    }


def printable_document(document: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional fields so an exported document reads like a hand-written one."""
    optional = {
        "effective_to",
        "notice_period_days",
        "provider",
        "calendars",
        "escalation",
        "measured_by",
        "services",
        *LIFE_KEYS,
    }
    out = {k: v for k, v in document.items() if not (k in optional and v in (None, "", {}, []))}
    out["objectives"] = [
        {
            k: v
            for k, v in o.items()
            if not (k == "credits" and not v) and not (k == "coverage" and v == "always")
        }
        for o in document["objectives"]
    ]
    return out
