"""Objectives over several services (rule 18) and bonuses (rule 12) through recompute,
closing and restatement, on the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements import engine
from agreements.models import Service
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.models import Evaluation, LedgerEntry, Period
from credits.recompute import recompute_agreement
from credits.restatement import restate_period
from metrics.models import ProbeMinute, ProbeResult
from metrics.services import incidents_ingest, probes_ingest

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MARCH = dt.datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = dt.timedelta(minutes=1)
AFTER_MARCH = dt.datetime(2026, 4, 2, 0, 1, tzinfo=UTC)


def checkout_doc(*, source: str = "probes", combine: str = "all", key: str = "checkout") -> Any:
    return {
        "agreement": key,
        "customer": {"key": "shop-co", "name": "Shop Co"},
        "name": "Checkout",
        "timezone": "UTC",
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "objectives": [
            {
                "key": "checkout-end-to-end",
                "indicator": "availability",
                "source": source,
                "services": ["web-frontend", "payments-gateway"],
                "combine": combine,
                "target": 99,
                "credits": [{"below": 99, "percent": 10}],
                "bonus": [{"above": "99.9", "percent": 2}],
            }
        ],
        "services": {
            "web-frontend": {"name": "Web frontend", "provider": "Example Web Ltd"},
            "payments-gateway": {"name": "Payments", "provider": "PayCo"},
        },
    }


def imported(**kw: Any) -> Any:
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=checkout_doc(**kw)).agreement


def probes(
    service: str, start: dt.datetime, count: int, ok: bool, location: str = "default"
) -> None:
    sid = Service.objects.get(key=service).pk
    probes_ingest(
        rows=[
            (sid, location, start + i * MINUTE + dt.timedelta(seconds=5), ok, 5.0 if ok else None)
            for i in range(count)
        ],
        closed={},
    )


def hour_with_outages() -> None:
    """The issue's example: web down 10 minutes, payments 20, overlapping by 5."""
    probes("web-frontend", MARCH, 10, False)
    probes("web-frontend", MARCH + 10 * MINUTE, 50, True)
    probes("payments-gateway", MARCH, 5, True)
    probes("payments-gateway", MARCH + 5 * MINUTE, 20, False)
    probes("payments-gateway", MARCH + 25 * MINUTE, 35, True)


def test_all_objective_counts_25_down_minutes_and_attributes_10_and_20() -> None:
    agreement = imported()
    hour_with_outages()
    recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(hours=1))
    evaluation = Evaluation.objects.get()
    assert (evaluation.good, evaluation.bad) == (35, 25)
    assert evaluation.unit == "minutes"
    assert evaluation.attribution == [
        {
            "service": "web-frontend",
            "name": "Web frontend",
            "provider": "Example Web Ltd",
            "bad": "10",
        },
        {"service": "payments-gateway", "name": "Payments", "provider": "PayCo", "bad": "20"},
    ]


def test_any_objective_counts_only_common_down_time_from_incidents() -> None:
    agreement = imported(source="incidents", combine="any")
    web, pay = (Service.objects.get(key=k).pk for k in ("web-frontend", "payments-gateway"))
    incidents_ingest(
        rows=[
            (web, "W-1", "web down", "outage", MARCH, MARCH + 10 * MINUTE),
            (pay, "P-1", "pay down", "outage", MARCH + 5 * MINUTE, MARCH + 25 * MINUTE),
        ],
        closed={},
    )
    recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(hours=1))
    evaluation = Evaluation.objects.get()
    assert evaluation.bad == 300  # both down 00:05-00:10
    assert [a["bad"] for a in evaluation.attribution] == ["300", "300"]


def test_bonus_is_entered_at_close_beside_the_credit_and_restated() -> None:
    imported()
    probes("web-frontend", MARCH, 1000, True)
    probes("payments-gateway", MARCH, 1000, True)
    close_due_periods(now=AFTER_MARCH)
    period = Period.objects.get(period="2026-03")
    assert (period.credit_amount, period.bonus_amount) == (Decimal("0.00"), Decimal("20.00"))
    bonus = LedgerEntry.objects.get()
    assert (bonus.kind, bonus.amount) == ("bonus", Decimal("-20.00"))
    close_due_periods(now=AFTER_MARCH + dt.timedelta(hours=1))
    assert LedgerEntry.objects.count() == 1, "closing again enters nothing twice"

    # Late data from two more locations: payments down for 20 of the 1000 minutes, so
    # 98%: no bonus, a credit.
    for location in ("p2", "p3"):
        probes("payments-gateway", MARCH + 980 * MINUTE, 20, False, location)
    with time_machine.travel(AFTER_MARCH + dt.timedelta(days=1), tick=False):
        restate_period(period_id=period.pk, actor="staff", reason="late probes")
    entries = sorted((e.kind, e.amount) for e in LedgerEntry.objects.all())
    assert entries == [
        ("bonus", Decimal("-20.00")),
        ("credit", Decimal("100.00")),
        ("reversal", Decimal("20.00")),
    ]


def test_unchanged_bonus_is_not_entered_again_on_restatement() -> None:
    agreement = imported()
    probes("web-frontend", MARCH, 100, True)
    probes("payments-gateway", MARCH, 100, True)
    close_due_periods(now=AFTER_MARCH)
    period = Period.objects.get(agreement=agreement, period="2026-03")
    with time_machine.travel(AFTER_MARCH + dt.timedelta(days=1), tick=False):
        restate_period(period_id=period.pk, actor="staff", reason="check")
    assert LedgerEntry.objects.count() == 1


def test_bonus_entry_must_be_negative() -> None:
    from django.db import IntegrityError, transaction

    agreement = imported()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            agreement=agreement,
            kind="bonus",
            amount=Decimal("5.00"),
            currency="EUR",
            idempotency_key="x",
            created_at=MARCH,
            created_by="test",
        )


def test_query_count_does_not_grow_with_combined_objectives() -> None:
    counts = []
    for n in (2, 6):  # each with both sources
        doc = checkout_doc(key=f"many-{n}")
        doc["objectives"] = [
            {
                **doc["objectives"][0],
                "key": f"o{i}",
                "source": "probes" if i % 2 else "incidents",
                "services": [f"s{i}", f"t{i}"],
            }
            for i in range(n)
        ]
        doc["services"] = {}
        with time_machine.travel(MARCH, tick=False):
            agreement = agreement_import(data=doc).agreement
        recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(days=3))
        with CaptureQueriesContext(connection) as captured:
            recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(days=3))
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


minute_states = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=30, max_size=30)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minute_states, minute_states, st.sampled_from(["all", "any"]))
def test_database_path_matches_the_engine(web: Any, pay: Any, combine: str) -> None:
    """Per-minute (ok, failed) counts of two services, stored through ingestion and
    evaluated by recompute, give the engine's figures and attribution."""
    Period.objects.all().delete()
    ProbeMinute.objects.all().delete()
    ProbeResult.objects.all().delete()
    from agreements.models import Agreement

    agreement = Agreement.objects.filter(key="prop").first() or imported(
        combine=combine, key="prop"
    )
    agreement.objectives.update(combine=combine)
    agreement.versions.all().update(
        terms={
            **agreement.versions.get().terms,
            "objectives": [{**agreement.versions.get().terms["objectives"][0], "combine": combine}],
        }
    )
    counts: dict[str, dict[dt.datetime, tuple[int, int]]] = {}
    for key, states in (("web-frontend", web), ("payments-gateway", pay)):
        sid = Service.objects.get(key=key).pk
        counts[key] = {}
        rows = []
        for i, (ok, failed) in enumerate(states):
            minute = MARCH + i * MINUTE
            if ok + failed:
                counts[key][minute] = (ok, failed)
            rows += [(sid, f"p{j}", minute + dt.timedelta(seconds=j), True, 5.0) for j in range(ok)]
            rows += [
                (sid, f"p{j}", minute + dt.timedelta(seconds=30 + j), False, None)
                for j in range(failed)
            ]
        if rows:
            probes_ingest(rows=rows, closed={})
    now = MARCH + 30 * MINUTE
    recompute_agreement(agreement_id=agreement.pk, now=now)
    evaluation = Evaluation.objects.get()
    expected = engine.combined_from_probes(
        covered=[(MARCH, now)], minute_counts=counts, combine=combine
    )
    assert (evaluation.good, evaluation.bad) == (expected.figures.good, expected.figures.bad)
    assert [Decimal(a["bad"]) for a in evaluation.attribution] == [
        expected.attribution["web-frontend"],
        expected.attribution["payments-gateway"],
    ]


def test_measurements_of_any_listed_service_concern_the_agreement() -> None:
    from credits.recompute import agreements_using
    from metrics.api import refusing_services

    with time_machine.travel(MARCH, tick=False):
        doc = checkout_doc()
        doc["measured_by"] = ["provider-monitoring"]
        agreement = agreement_import(data=doc).agreement
    pay = Service.objects.get(key="payments-gateway").pk
    assert agreements_using(service_ids=[pay]) == [agreement.pk]
    assert refusing_services("someone-else", {pay}) == {pay}
    assert refusing_services("provider-monitoring", {pay}) == set()


def test_closing_advances_the_watermark_of_every_listed_service() -> None:
    imported()
    close_due_periods(now=AFTER_MARCH)
    for key in ("web-frontend", "payments-gateway"):
        assert Service.objects.get(key=key).closed_until == dt.datetime(2026, 4, 1, tzinfo=UTC)


def test_reversing_a_bonus_never_hides_the_credit_from_a_later_restatement() -> None:
    """A bonus reversed on its own (credit unchanged) must not count as the credit's
    reversal when a later restatement changes the credit."""
    doc = checkout_doc()
    doc["objectives"][0]["bonus"] = [{"above": "99.5", "percent": 2}]
    doc["objectives"][0]["credits"] = []
    doc["objectives"].append(
        {
            "key": "web-only",
            "indicator": "availability",
            "service": "web-frontend",
            "target": 99,
            "credits": [{"below": "99.99", "percent": 10}, {"below": "99.5", "percent": 20}],
        }
    )
    with time_machine.travel(MARCH, tick=False):
        agreement_import(data=doc)
    probes("web-frontend", MARCH, 999, True)
    probes("web-frontend", MARCH + 999 * MINUTE, 1, False)
    probes("payments-gateway", MARCH, 1000, True)
    close_due_periods(now=AFTER_MARCH)
    period = Period.objects.get(period="2026-03")
    assert (period.credit_amount, period.bonus_amount) == (Decimal("100.00"), Decimal("20.00"))

    later = AFTER_MARCH + dt.timedelta(days=1)
    for location in ("p2", "p3"):  # payments down 10 more minutes: the bonus goes
        probes("payments-gateway", MARCH + 100 * MINUTE, 10, False, location)
    with time_machine.travel(later, tick=False):
        restate_period(period_id=period.pk, actor="staff", reason="payments outage")
    for location in ("p2", "p3"):  # web down 5 more minutes: the credit changes
        probes("web-frontend", MARCH + 200 * MINUTE, 5, False, location)
    with time_machine.travel(later + dt.timedelta(hours=1), tick=False):
        restate_period(period_id=period.pk, actor="staff", reason="web outage")

    entries = sorted((e.kind, e.amount) for e in LedgerEntry.objects.all())
    assert entries == [
        ("bonus", Decimal("-20.00")),
        ("credit", Decimal("100.00")),
        ("credit", Decimal("200.00")),
        ("reversal", Decimal("-100.00")),
        ("reversal", Decimal("20.00")),
    ]
