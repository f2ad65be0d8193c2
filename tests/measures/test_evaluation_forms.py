"""The further forms evaluated from stored measurements (rules 15-17): the issue's hand-
checked examples through the database, the carried shortfall fixed at close and updated
by a restatement, the compliance API's achieved with its unit, and a constant number of
queries per batch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from agreements.models import Service
from agreements.services import agreement_import
from credits.bounded import commitment_text
from credits.closing import close_due_periods
from credits.models import Evaluation, Period
from credits.recompute import recompute_agreement
from credits.restatement import restate_period
from metrics.models import Maintenance
from metrics.services import Source, incidents_ingest, ingest, probes_ingest, samples_ingest

pytestmark = pytest.mark.django_db
UTC = dt.UTC
APRIL = dt.datetime(2026, 4, 1, tzinfo=UTC)
OCTOBER = dt.datetime(2026, 10, 1, tzinfo=UTC)
SRC = Source(name="test", endpoint="/api/v1/incidents/")


def doc(objectives: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    return {
        "agreement": "outsourcing",
        "customer": {"key": "buyer", "name": "Buyer"},
        "name": "Outsourcing",
        "timezone": "UTC",
        "effective_from": "2026-04-01",
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "objectives": objectives,
        **over,
    }


RESTORE = {
    "key": "restore",
    "service": "desk",
    "indicator": "mttr",
    "max": "30m",
    "credits": [{"above": "30m", "percent": 5}, {"above": "2h", "percent": 10}],
}
BETWEEN = {"key": "between", "service": "desk", "indicator": "mtbf", "min": "10d"}
HOURS = {
    "key": "hours",
    "service": "desk",
    "indicator": "metric_sum",
    "metric": "hours_worked",
    "min": 200,
    "carry_over": True,
    "credits": [{"below": 90, "percent": 5}],
}


def outage(service: Service, ref: str, start: dt.datetime, minutes: int) -> tuple[Any, ...]:
    end = start + dt.timedelta(minutes=minutes)
    return (service.pk, ref, "down", "outage", start, end)


def evaluation(period: str, key: str) -> Evaluation:
    row = Period.objects.get(period=period)
    return Evaluation.objects.get(period=row, revision=row.revision, objective_key=key)


def test_outages_of_30_and_90_minutes_give_mttr_1_h_and_mtbf_15_days() -> None:
    with time_machine.travel(APRIL, tick=False):
        agreement_import(data=doc([RESTORE, BETWEEN]))
    desk = Service.objects.get(key="desk")
    incidents_ingest(
        rows=[
            outage(desk, "a", APRIL + dt.timedelta(days=3), 30),
            outage(desk, "b", APRIL + dt.timedelta(days=9), 90),
            # Started in March: not an outage of April's.
            outage(desk, "c", APRIL - dt.timedelta(hours=1), 120),
        ],
        closed={},
    )
    close_due_periods(now=dt.datetime(2026, 5, 2, 1, tzinfo=UTC))
    restore, between = evaluation("2026-04", "restore"), evaluation("2026-04", "between")
    assert (restore.achieved, restore.value_unit, restore.bound) == (Decimal(3600), "s", "max")
    assert restore.status == "breached"
    assert restore.credit_percent == Decimal(5)  # above 30m, not above 2h
    assert (between.achieved, between.value_unit) == (Decimal(15 * 86400), "s")
    assert between.status == "met"
    assert Period.objects.get(period="2026-04").credit_amount == Decimal("50.00")


def test_an_outage_resolved_after_the_month_restores_in_its_whole_covered_time() -> None:
    # Issue 16: 23:30 on 30 September (a 30-day month) to 00:30 on 1 October, coverage
    # `always`: mttr 1 h for September, though half of it falls in October; mtbf stays
    # September's 30 days over one outage.
    with time_machine.travel(APRIL, tick=False):
        agreement_import(data=doc([RESTORE, BETWEEN]))
    desk = Service.objects.get(key="desk")
    incidents_ingest(rows=[outage(desk, "a", OCTOBER - dt.timedelta(minutes=30), 60)], closed={})
    close_due_periods(now=OCTOBER + dt.timedelta(days=1, hours=1))
    restore, between = evaluation("2026-09", "restore"), evaluation("2026-09", "between")
    assert restore.achieved == Decimal(3600)
    assert restore.credit_percent == Decimal(5)  # above 30m, not above 2h
    assert between.achieved == Decimal(30 * 86400)


def test_maintenance_after_the_month_is_removed_and_a_late_resolution_is_flagged(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with time_machine.travel(APRIL, tick=False):
        agreement_import(data=doc([RESTORE, BETWEEN], maintenance_notice_hours=0))
    desk = Service.objects.get(key="desk")
    # Maintenance of 01:00-02:00 on 1 October, announced a day ahead: not covered time.
    Maintenance.objects.create(
        service=desk,
        external_id="m",
        title="Upgrade",
        start=OCTOBER + dt.timedelta(hours=1),
        end=OCTOBER + dt.timedelta(hours=2),
        announced_at=OCTOBER - dt.timedelta(days=1),
    )
    start = OCTOBER - dt.timedelta(minutes=30)
    # Unresolved when September closes at 01:00 on 2 October: it counts up to the close,
    # 25 h 30 min less the hour of maintenance.
    ingest("incidents", rows=[(desk.pk, "a", "down", "outage", start, None)], closed={}, source=SRC)
    close_due_periods(now=OCTOBER + dt.timedelta(days=1, hours=1))
    period = Period.objects.get(period="2026-09")
    assert period.is_closed and not period.late_data
    assert evaluation("2026-09", "restore").achieved == Decimal(24 * 3600 + 1800)
    # Reported later as resolved at 03:00 on 1 October: 3 h 30 min less the maintenance.
    # The closed period is flagged for restatement, as for any late incident update, and
    # restating it gives the new figure; mtbf is unchanged.
    resolved = (desk.pk, "a", "down", "outage", start, OCTOBER + dt.timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        ingest("incidents", rows=[resolved], closed={desk.pk: period.end}, source=SRC)
    period.refresh_from_db()
    assert period.late_data
    restate_period(
        period_id=period.pk, actor="staff", reason="resolved", now=OCTOBER + dt.timedelta(days=2)
    )
    assert evaluation("2026-09", "restore").achieved == Decimal(9000)
    assert evaluation("2026-09", "between").achieved == Decimal(30 * 86400)


def test_no_outage_is_met_with_no_value() -> None:
    with time_machine.travel(APRIL, tick=False):
        agreement = agreement_import(data=doc([RESTORE, BETWEEN])).agreement
    recompute_agreement(agreement_id=agreement.pk, now=APRIL + dt.timedelta(days=2))
    restore, between = evaluation("2026-04", "restore"), evaluation("2026-04", "between")
    assert (restore.achieved, restore.status) == (None, "met")
    assert (between.achieved, between.status) == (None, "met")


def deliver(
    service: Service, start: dt.datetime, total: int, *, metric: str = "hours_worked"
) -> None:
    samples_ingest(
        rows=[
            (service.pk, metric, start + dt.timedelta(hours=i), Decimal(10))
            for i in range(total // 10)
        ],
        closed={},
    )


def test_a_commitment_of_200_with_170_delivered_in_october_requires_230_in_november() -> None:
    with time_machine.travel(OCTOBER, tick=False):
        agreement = agreement_import(data=doc([HOURS], effective_from="2026-10-01")).agreement
    desk = Service.objects.get(key="desk")
    deliver(desk, OCTOBER + dt.timedelta(days=2), 170)
    november = dt.datetime(2026, 11, 10, tzinfo=UTC)
    deliver(desk, november - dt.timedelta(days=5), 100)
    close_due_periods(now=dt.datetime(2026, 11, 2, 1, tzinfo=UTC))
    october = evaluation("2026-10", "hours")
    assert (october.good, october.required, october.achieved) == (170, 200, Decimal(85))
    assert (october.status, october.credit_percent) == ("breached", Decimal(5))
    recompute_agreement(agreement_id=agreement.pk, now=november)
    open_ = evaluation("2026-11", "hours")
    assert (open_.required, open_.carried, open_.carried_from) == (230, 30, "2026-10")
    assert open_.good == 100
    assert commitment_text(open_) == "required 230 = 200 + 30 carried from October"
    # Late hours for October, restated: November now requires what is still short.
    deliver(desk, OCTOBER + dt.timedelta(days=20), 20)
    restate_period(
        period_id=Period.objects.get(period="2026-10").pk, actor="staff", reason="late hours"
    )
    recompute_agreement(agreement_id=agreement.pk, now=november)
    assert evaluation("2026-11", "hours").required == 210


def test_no_carry_over_requires_the_minimum_only() -> None:
    with time_machine.travel(OCTOBER, tick=False):
        agreement = agreement_import(
            data=doc([{**HOURS, "carry_over": False}], effective_from="2026-10-01")
        ).agreement
    close_due_periods(now=dt.datetime(2026, 11, 2, 1, tzinfo=UTC))
    recompute_agreement(agreement_id=agreement.pk, now=dt.datetime(2026, 11, 10, tzinfo=UTC))
    assert evaluation("2026-11", "hours").required == 200
    assert evaluation("2026-10", "hours").achieved == 0


NETWORK = [
    {"key": "jitter", "service": "wan", "indicator": "jitter", "max": 30},
    {"key": "latency", "service": "wan", "indicator": "mean_latency", "max": 100},
    {
        "key": "throughput",
        "service": "wan",
        "indicator": "metric_mean",
        "metric": "throughput_mbps",
        "min": 900,
    },
]


def test_network_values_and_the_compliance_api_give_achieved_with_its_unit(api: Any) -> None:
    with time_machine.travel(APRIL, tick=False):
        agreement = agreement_import(data=doc(NETWORK)).agreement
    wan = Service.objects.get(key="wan")
    start = APRIL + dt.timedelta(days=1)
    latencies = [10.0, 30.0, 10.0, 30.0]
    probes_ingest(
        rows=[
            (wan.pk, "fra", start + dt.timedelta(minutes=i), True, ms)
            for i, ms in enumerate(latencies)
        ],
        closed={},
    )
    samples_ingest(
        rows=[
            (wan.pk, "throughput_mbps", start, Decimal("950.5")),
            (wan.pk, "throughput_mbps", start + dt.timedelta(seconds=30), Decimal("849.5")),
        ],
        closed={},
    )
    recompute_agreement(agreement_id=agreement.pk, now=start + dt.timedelta(hours=1))
    jitter, latency = evaluation("2026-04", "jitter"), evaluation("2026-04", "latency")
    assert (jitter.achieved, jitter.value_unit, jitter.status) == (Decimal(20), "ms", "met")
    assert (latency.achieved, latency.status) == (Decimal(20), "met")
    throughput = evaluation("2026-04", "throughput")
    assert (throughput.achieved, throughput.value_unit) == (Decimal(900), "throughput_mbps")
    body = api("read").get("/api/v1/agreements/outsourcing/compliance/?period=2026-04").json()
    by_key = {o["key"]: o for o in body["objectives"]}
    assert (by_key["jitter"]["achieved"], by_key["jitter"]["unit"]) == (20, "ms")
    assert by_key["jitter"]["achieved_text"] == "20.0 ms"
    assert by_key["throughput"]["unit"] == "throughput_mbps"
    assert by_key["throughput"]["bound"] == {"min": 900}


def test_batched_query_count_does_not_grow_with_agreements_of_further_forms() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from credits.recompute import recompute_agreements

    with time_machine.travel(APRIL, tick=False):
        ids = [
            agreement_import(
                data=doc(
                    [RESTORE, BETWEEN, HOURS, *NETWORK],
                    agreement=f"o-{n}",
                    customer={"key": f"c{n}", "name": f"C {n}"},
                )
            ).agreement.pk
            for n in range(6)
        ]
    now = APRIL + dt.timedelta(days=3)
    recompute_agreements(agreement_ids=ids, now=now)
    counts = []
    for batch in (ids[:2], ids):
        with CaptureQueriesContext(connection) as captured:
            recompute_agreements(agreement_ids=batch, now=now)
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_the_page_and_statement_show_values_with_units_and_the_commitment(
    client: Any, django_user_model: Any
) -> None:
    from agreements.models import Membership

    with time_machine.travel(OCTOBER, tick=False):
        agreement = agreement_import(
            data=doc([HOURS, RESTORE], effective_from="2026-10-01")
        ).agreement
    desk = Service.objects.get(key="desk")
    deliver(desk, OCTOBER + dt.timedelta(days=2), 170)
    incidents_ingest(rows=[outage(desk, "a", OCTOBER + dt.timedelta(days=3), 90)], closed={})
    close_due_periods(now=dt.datetime(2026, 11, 2, 1, tzinfo=UTC))
    recompute_agreement(agreement_id=agreement.pk, now=dt.datetime(2026, 11, 10, tzinfo=UTC))
    user = django_user_model.objects.create_user("buyer-user", password="pw-long-enough-1")
    Membership.objects.create(user=user, customer=agreement.customer)
    client.force_login(user)
    with time_machine.travel(dt.datetime(2026, 11, 10, tzinfo=UTC), tick=False):
        page = client.get("/agreements/outsourcing/").content.decode()
    assert "required 230 = 200 + 30 carried from October" in page
    assert "at most 30 min" in page
    csv = client.get("/agreements/outsourcing/statements/2026-10.csv").content.decode()
    restore = next((line for line in csv.splitlines() if "restore" in line), csv)
    assert ",5400," in restore and ",s," in restore, restore
