"""Terms snapshots (TermsVersion.terms) turned into the engine's plain values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from agreements import engine
from agreements.document import WEEKDAYS, parse_duration, parse_range
from agreements.document.forms import bound_number, implied_target

DEFAULT_WARN_AT_PERCENT = 75


@dataclass(frozen=True)
class ObjectiveTerms:
    position: int
    key: str
    indicator: str
    source: str
    service: str | None
    target: Decimal
    coverage: str
    calendar: engine.Calendar | None
    threshold_ms: int | None
    threshold: dt.timedelta | None
    priority: str | None
    tiers: tuple[tuple[Decimal, Decimal], ...]
    # Ticket objectives: the share of the threshold after which a ticket is due soon.
    warn_at_percent: int = DEFAULT_WARN_AT_PERCENT
    # Rule 18: the services of an objective over several services, and how they combine.
    services: tuple[str, ...] = ()
    combine: str = ""
    # Rule 12: bonus tiers (above, percent).
    bonus: tuple[tuple[Decimal, Decimal], ...] = ()
    # The further forms (rules 15-17): bounds in the value's unit (seconds, ms, the
    # metric's), the metric, carry_over, and a max-bounded value's (above, percent) tiers.
    maximum: Decimal | None = None
    minimum: Decimal | None = None
    metric: str | None = None
    carry_over: bool = False
    above_tiers: tuple[tuple[Decimal, Decimal], ...] = ()

    @cached_property
    def kind(self) -> engine.Kind:
        # Read many times per objective in every recompute: worked out once.
        return engine.Kind.of(self.indicator, self.source)

    @property
    def unit(self) -> str:
        return self.kind.unit

    @property
    def value_unit(self) -> str:
        """The unit of ``achieved``: ``%``, ``s``, ``ms`` or the metric's own (its name)."""
        unit = self.kind.value_unit
        return unit or (self.metric or "")


@dataclass(frozen=True)
class Terms:
    timezone: str
    effective_from: dt.date
    effective_to: dt.date | None
    monthly_fee: Decimal
    credit_cap_percent: Decimal
    claim_window_days: int
    maintenance_notice_hours: int
    data_grace_hours: int
    calendars: dict[str, engine.Calendar]
    objectives: tuple[ObjectiveTerms, ...]


def calendar_of(body: dict[str, Any]) -> engine.Calendar:
    weekly = {
        WEEKDAYS.index(day): tuple(parse_range(r) for r in ranges)
        for day, ranges in body["weekly"].items()
    }
    return engine.Calendar(
        weekly=weekly, holidays=frozenset(dt.date.fromisoformat(d) for d in body["holidays"])
    )


def terms_of(snapshot: dict[str, Any]) -> Terms:
    calendars = {
        name: calendar_of(body) for name, body in (snapshot.get("calendars") or {}).items()
    }
    objectives = []
    for position, o in enumerate(snapshot["objectives"]):
        objectives.append(
            ObjectiveTerms(
                position=position,
                key=o["key"],
                indicator=o["indicator"],
                source=o.get("source", ""),
                service=o.get("service"),
                target=Decimal(str(o["target"]))
                if "target" in o
                else implied_target(o["indicator"]),
                coverage=o.get("coverage", "always"),
                calendar=calendars.get(o.get("coverage", "always")),
                threshold_ms=o.get("threshold_ms"),
                threshold=dt.timedelta(seconds=parse_duration(o["threshold"]))
                if o.get("threshold")
                else None,
                priority=o.get("priority"),
                tiers=tuple(
                    (bound_number(o["indicator"], t["below"]), Decimal(str(t["percent"])))
                    for t in o["credits"]
                    if "below" in t
                ),
                warn_at_percent=o.get("warn_at_percent", DEFAULT_WARN_AT_PERCENT),
                services=tuple(o.get("services", ())),
                combine=o.get("combine", ""),
                bonus=tuple(
                    (Decimal(str(t["above"])), Decimal(str(t["percent"])))
                    for t in o.get("bonus", ())
                ),
                maximum=bound_number(o["indicator"], o["max"]) if "max" in o else None,
                minimum=bound_number(o["indicator"], o["min"]) if "min" in o else None,
                metric=o.get("metric"),
                carry_over=bool(o.get("carry_over")),
                above_tiers=tuple(
                    (bound_number(o["indicator"], t["above"]), Decimal(str(t["percent"])))
                    for t in o["credits"]
                    if "above" in t
                ),
            )
        )
    return Terms(
        timezone=snapshot["timezone"],
        effective_from=dt.date.fromisoformat(snapshot["effective_from"]),
        effective_to=dt.date.fromisoformat(snapshot["effective_to"])
        if snapshot.get("effective_to")
        else None,
        monthly_fee=Decimal(snapshot["monthly_fee"]),
        credit_cap_percent=Decimal(str(snapshot["credit_cap_percent"])),
        claim_window_days=snapshot["claim_window_days"],
        maintenance_notice_hours=snapshot["maintenance_notice_hours"],
        data_grace_hours=snapshot["data_grace_hours"],
        calendars=calendars,
        objectives=tuple(objectives),
    )
