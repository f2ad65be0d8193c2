"""Stored evaluations, closing, and the compliance endpoints."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from agreements.models import Service
from agreements.services import agreement_import
from credits.closing import close_due_periods, close_period
from credits.models import Evaluation, LedgerEntry, Period
from credits.recompute import recompute_agreement
from metrics.models import ProbeResult
from metrics.services import incidents_ingest, probes_ingest

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MARCH = dt.datetime(2026, 3, 1, tzinfo=UTC)


def simple_doc(**over: Any) -> dict[str, Any]:
    doc = {
        "agreement": "shop",
        "customer": {"key": "shop-co", "name": "Shop Co"},
        "name": "Shop",
        "timezone": "UTC",
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "credit_cap_percent": 50,
        "objectives": [
            {
                "key": "up",
                "service": "web",
                "indicator": "availability",
                "target": 99,
                "credits": [{"below": 99, "percent": 10}, {"below": 90, "percent": 30}],
            },
        ],
    }
    doc.update(over)
    return doc


def minutes(
    service: Service, start: dt.datetime, count: int, ok: bool, probe: str = "default"
) -> None:
    probes_ingest(
        rows=[
            (
                service.pk,
                probe,
                start + dt.timedelta(minutes=i, seconds=10),
                ok,
                5.0 if ok else None,
            )
            for i in range(count)
        ],
        closed={},
    )


@pytest.fixture
def shop() -> Any:
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=simple_doc()).agreement


def test_recompute_stores_evaluations_with_version(shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 98, True)
    minutes(web, MARCH + dt.timedelta(minutes=98), 2, False)
    now = MARCH + dt.timedelta(minutes=100)
    recompute_agreement(agreement_id=shop.pk, now=now)
    evaluation = Evaluation.objects.get()
    assert (evaluation.good, evaluation.bad, evaluation.achieved) == (98, 2, Decimal("98"))
    # Rules 10-11: 2 down minutes of the ~446 that all of March allows at 99% can still be
    # made up, so the open period is not breached even though 98% so far is below target.
    assert evaluation.status == "met"
    assert evaluation.budget_total == Decimal("446.40")
    assert evaluation.period.terms_version.number == 1
    assert evaluation.computed_at == now
    # Idempotent: the same state again.
    recompute_agreement(agreement_id=shop.pk, now=now)
    assert Evaluation.objects.count() == 1


def test_achieved_exactly_target_is_met(shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 99, True)
    minutes(web, MARCH + dt.timedelta(minutes=99), 1, False)
    recompute_agreement(agreement_id=shop.pk, now=MARCH + dt.timedelta(minutes=100))
    evaluation = Evaluation.objects.get()
    assert evaluation.achieved == Decimal("99")
    assert evaluation.status in ("met", "at_risk")


def test_closing_freezes_and_enters_credit_once(shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 95, True)
    minutes(web, MARCH + dt.timedelta(minutes=95), 5, False)
    after = dt.datetime(2026, 4, 2, 0, 1, tzinfo=UTC)
    closed = close_due_periods(now=after)
    assert [p.period for p in closed] == ["2026-03"]
    period = Period.objects.get(period="2026-03")
    assert period.state == "closed"
    # 95% is below 99 (10%) but not below 90: 10% of 1000.00.
    assert period.credit_amount == Decimal("100.00")
    assert LedgerEntry.objects.get().amount == Decimal("100.00")
    # Closing again, or recomputing, changes nothing and enters nothing twice.
    assert close_due_periods(now=after + dt.timedelta(hours=1)) == []
    assert close_period(period_id=period.pk, now=after) is None
    recompute_agreement(agreement_id=shop.pk, now=after)
    assert LedgerEntry.objects.count() == 1
    evaluation = Evaluation.objects.get(period=period)
    assert evaluation.achieved == Decimal("95") and evaluation.status == "breached"


def test_closed_period_is_not_rescanned_and_late_data_is_flagged(shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 10, True)
    close_due_periods(now=dt.datetime(2026, 4, 2, 1, tzinfo=UTC))
    web.refresh_from_db()
    assert web.closed_until == dt.datetime(2026, 4, 1, tzinfo=UTC)
    late = probes_ingest(
        rows=[(web.pk, "default", MARCH + dt.timedelta(hours=5), False, None)],
        closed={web.pk: web.closed_until},
    )
    assert late.late == 1
    assert ProbeResult.objects.filter(late=True).count() == 1
    recompute_agreement(agreement_id=shop.pk, now=dt.datetime(2026, 4, 3, tzinfo=UTC))
    march = Evaluation.objects.get(period__period="2026-03")
    assert march.bad == 0, "a closed period's figures stay frozen"


def test_period_not_closed_before_grace(shop: Any) -> None:
    assert close_due_periods(now=dt.datetime(2026, 4, 1, 23, 59, tzinfo=UTC)) == []
    assert [p.period for p in close_due_periods(now=dt.datetime(2026, 4, 2, tzinfo=UTC))] == [
        "2026-03"
    ]


def test_agreement_starting_mid_month() -> None:
    with time_machine.travel(MARCH, tick=False):
        agreement = agreement_import(data=simple_doc(effective_from="2026-03-16")).agreement
    recompute_agreement(agreement_id=agreement.pk, now=dt.datetime(2026, 3, 20, tzinfo=UTC))
    period = Period.objects.get()
    assert period.start == dt.datetime(2026, 3, 16, tzinfo=UTC)
    assert period.end == dt.datetime(2026, 4, 1, tzinfo=UTC)


def test_new_terms_version_applies_from_its_period_only(shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 97, True)
    minutes(web, MARCH + dt.timedelta(minutes=97), 3, False)
    minutes(web, dt.datetime(2026, 4, 1, tzinfo=UTC), 97, True)
    minutes(web, dt.datetime(2026, 4, 1, 1, 37, tzinfo=UTC), 3, False)
    doc = simple_doc()
    doc["objectives"][0]["target"] = 95
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=UTC), tick=False):
        version = agreement_import(data=doc).version
    assert version.effective_period == "2026-04"
    recompute_agreement(agreement_id=shop.pk, now=dt.datetime(2026, 4, 1, 12, tzinfo=UTC))
    march = Evaluation.objects.get(period__period="2026-03")
    april = Evaluation.objects.get(period__period="2026-04")
    assert (march.target, march.status) == (Decimal("99"), "breached")
    assert (april.target, april.status) == (Decimal("95"), "met")
    assert april.period.terms_version == version


def test_incident_crossing_period_start_counts_only_inside() -> None:
    doc = simple_doc()
    doc["objectives"][0]["source"] = "incidents"
    with time_machine.travel(MARCH, tick=False):
        agreement = agreement_import(data=doc).agreement
    web = Service.objects.get(key="web")
    incidents_ingest(
        rows=[
            (
                web.pk,
                "I-1",
                "down",
                "outage",
                MARCH - dt.timedelta(hours=1),
                MARCH + dt.timedelta(minutes=30),
            )
        ],
        closed={},
    )
    recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(hours=1))
    evaluation = Evaluation.objects.get()
    assert evaluation.bad == Decimal(1800)
    assert evaluation.good == Decimal(1800)


def test_query_count_does_not_grow_with_objectives(django_assert_max_num_queries: Any) -> None:
    counts = []
    for n in (3, 9):
        doc = simple_doc(agreement=f"many-{n}")
        doc["objectives"] = [
            {
                "key": f"o{i}",
                "service": f"s{i % 3}",
                "indicator": kind,
                "target": 99,
                **({"threshold_ms": 100} if kind == "latency" else {}),
            }
            for i, kind in zip(range(n), ["availability", "latency", "ratio"] * 3, strict=False)
        ]
        with time_machine.travel(MARCH, tick=False):
            agreement = agreement_import(data=doc).agreement
        recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(days=3))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(days=3))
        counts.append(len(captured))
    # Three objectives (one of each kind) or nine: the same number of queries.
    assert counts[0] == counts[1], counts


def test_recompute_command(shop: Any) -> None:
    out = io.StringIO()
    call_command("recompute", "--agreement", "shop", "--period", "2026-03", stdout=out)
    assert "shop: evaluated 2026-03" in out.getvalue()
    with pytest.raises(CommandError, match="--period"):
        call_command("recompute", "--period", "March")
    with pytest.raises(CommandError, match="no agreement"):
        call_command("recompute", "--agreement", "nope")


def test_close_periods_command(shop: Any) -> None:
    out = io.StringIO()
    call_command("close_periods", "--now", "2026-04-02T00:00:00Z", stdout=out)
    assert "Closed shop 2026-03: credit 0.00 EUR" in out.getvalue()
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("close_periods", "--now", "tomorrow")


def test_close_periods_refuses_a_now_later_than_the_real_clock(shop: Any) -> None:
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    with pytest.raises(CommandError, match="later than the current time"):
        call_command("close_periods", "--now", later)
    assert not Period.objects.filter(state=Period.State.CLOSED).exists()


# The compliance endpoint ----------------------------------------------------------------


def test_compliance_endpoint_shape(api: Any, shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 98, True)
    minutes(web, MARCH + dt.timedelta(minutes=98), 2, False)
    with time_machine.travel(MARCH + dt.timedelta(hours=2), tick=False):
        body = api("read").get("/api/v1/agreements/shop/compliance/").json()
    assert body["agreement"] == "shop"
    assert body["period"] == "2026-03"
    assert body["status"] == "open"
    objective = body["objectives"][0]
    assert set(objective) >= {
        "key",
        "indicator",
        "target",
        "achieved",
        "status",
        "good",
        "bad",
        "completeness",
        "budget_remaining_percent",
        "credit_percent",
    }
    assert objective["achieved"] == 98 and isinstance(objective["achieved"], (int, float))
    assert objective["status"] == "met"  # so far below target, but the month can still meet it
    assert objective["budget_remaining_percent"] > 99
    assert body["credit"]["currency"] == "EUR"
    assert isinstance(body["credit"]["amount"], str)
    assert body["forecast"]["label"] == "projection"


def test_compliance_of_closed_period_and_history(api: Any, shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 80, True)
    minutes(web, MARCH + dt.timedelta(minutes=80), 20, False)
    close_due_periods(now=dt.datetime(2026, 4, 3, tzinfo=UTC))
    client = api("read")
    body = client.get("/api/v1/agreements/shop/compliance/?period=2026-03").json()
    assert body["status"] == "closed"
    assert body["credit"] == {"amount": "300.00", "currency": "EUR"}
    history = client.get(
        "/api/v1/agreements/shop/compliance/history/?from=2026-01&to=2026-12"
    ).json()
    assert [p["period"] for p in history["periods"]] == ["2026-03"]
    assert history["periods"][0]["objectives"][0]["met"] is False


@pytest.mark.parametrize(
    ("query", "code"), [("period=2026-13", 400), ("period=march", 400), ("period=2025-01", 404)]
)
def test_compliance_bad_period(api: Any, shop: Any, query: str, code: int) -> None:
    response = api("read").get(f"/api/v1/agreements/shop/compliance/?{query}")
    assert response.status_code == code
    assert "error" in response.json()


@pytest.mark.parametrize("path", ["compliance/", "compliance/history/"])
def test_compliance_scoping(api: Any, shop: Any, other_agreement: Any, path: str) -> None:
    assert (
        api("read", customer=other_agreement.customer)
        .get(f"/api/v1/agreements/shop/{path}")
        .status_code
        == 404
    )
    assert api("ingest").get(f"/api/v1/agreements/shop/{path}").status_code == 403
    assert (
        api("read", customer=shop.customer).get(f"/api/v1/agreements/shop/{path}").status_code
        == 200
    )


def test_figures_move_when_failures_are_posted(
    api: Any, shop: Any, django_capture_on_commit_callbacks: Any
) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 60, True)
    with time_machine.travel(MARCH + dt.timedelta(minutes=61), tick=False):
        client = api("read")
        before = client.get("/api/v1/agreements/shop/compliance/").json()["objectives"][0][
            "achieved"
        ]
        failures = [
            {
                "service": "web",
                "ts": (MARCH + dt.timedelta(minutes=m)).isoformat(),
                "ok": False,
                "probe": "second",
            }
            for m in range(10)
        ]
        failures += [
            {
                "service": "web",
                "ts": (MARCH + dt.timedelta(minutes=m)).isoformat(),
                "ok": False,
                "probe": "third",
            }
            for m in range(10)
        ]
        ingest = api("ingest")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = ingest.post(
                "/api/v1/probes/", json.dumps(failures), content_type="application/json"
            )
        assert response.status_code == 201
        # The arrival scheduled one recompute (run at once here, tasks being eager in tests).
        assert callbacks
        after = client.get("/api/v1/agreements/shop/compliance/").json()["objectives"][0][
            "achieved"
        ]
    assert before == 100
    assert after == pytest.approx(100 * 50 / 60)


def test_burst_of_batches_schedules_one_recompute(
    api: Any, shop: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from credits.tasks import schedule_recompute

    with django_capture_on_commit_callbacks() as callbacks:
        scheduled = [schedule_recompute([shop.pk]) for _ in range(50)]
    assert scheduled[0] == [shop.pk]
    assert all(s == [] for s in scheduled[1:])
    assert len(callbacks) == 1


def _figures(result: Any) -> Any:
    return (
        result.period,
        result.credit,
        [
            (r.terms.key, r.figures, r.budget, r.burn_rate_1h, r.status, r.credit_percent)
            for r in result.objectives
        ],
    )


def test_batched_evaluation_equals_one_by_one() -> None:
    """Many agreements, customers, zones and periods read together give each its own figures."""
    from agreements.models import Customer
    from credits.evaluation import Job, evaluate, evaluate_many
    from credits.recompute import version_in_force
    from metrics.services import events_ingest, tickets_ingest

    docs = [
        simple_doc(),
        simple_doc(agreement="shop-kolkata", timezone="Asia/Kolkata"),
        simple_doc(
            agreement="shop-other",
            customer={"key": "other-co", "name": "Other Co"},
            effective_from="2026-02-01",
            timezone="America/New_York",
            calendars={"office": {"weekly": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]}}},
            objectives=[
                {
                    "key": "up",
                    "service": "web",
                    "indicator": "availability",
                    "target": 99,
                    "coverage": "office",
                    "credits": [{"below": 99, "percent": 10}],
                },
                {
                    "key": "down-by-incidents",
                    "service": "api",
                    "indicator": "availability",
                    "source": "incidents",
                    "target": 99.5,
                },
                {
                    "key": "fast",
                    "service": "web",
                    "indicator": "latency",
                    "threshold_ms": 4,
                    "target": 90,
                },
                {"key": "events", "service": "bus", "indicator": "ratio", "target": 99},
                {"key": "reply", "indicator": "response_time", "threshold": "1h", "target": 90},
            ],
        ),
    ]
    with time_machine.travel(MARCH, tick=False):
        agreements = [agreement_import(data=d).agreement for d in docs]
    web, api, bus = (Service.objects.get(key=k) for k in ("web", "api", "bus"))
    minutes(web, MARCH - dt.timedelta(hours=6), 600, True)
    minutes(web, MARCH + dt.timedelta(hours=5), 90, False, probe="eu")
    events_ingest(
        rows=[(bus.pk, MARCH + dt.timedelta(hours=h), 990, 1000) for h in range(30)], closed={}
    )
    incidents_ingest(
        rows=[
            (
                api.pk,
                "I-9",
                "down",
                "outage",
                MARCH + dt.timedelta(hours=2),
                MARCH + dt.timedelta(hours=3),
            )
        ],
        closed={},
    )
    other, shop_co = Customer.objects.get(key="other-co"), Customer.objects.get(key="shop-co")
    tickets_ingest(
        rows=[
            (
                other.pk,
                "T-1",
                "P1",
                MARCH + dt.timedelta(days=1, hours=14),
                MARCH + dt.timedelta(days=1, hours=16),
                None,
            ),
            (
                shop_co.pk,
                "T-2",
                "P1",
                MARCH + dt.timedelta(days=1, hours=14),
                MARCH + dt.timedelta(days=1, hours=14, minutes=5),
                None,
            ),
            (other.pk, "T-3", "P2", MARCH - dt.timedelta(days=3), None, None),
        ],
        closed={},
    )
    now = MARCH + dt.timedelta(days=2, hours=3, minutes=17)
    jobs = [
        Job(a, period, version_in_force(list(a.versions.all()), period), now, closed)
        for a in agreements
        for period, closed in (("2026-03", False), ("2026-02", True))
    ]
    jobs = [j for j in jobs if j.version is not None]
    alone = [
        evaluate(
            agreement=j.agreement, period=j.period, version=j.version, now=now, closed=j.closed
        )
        for j in jobs
    ]
    together = evaluate_many(jobs)
    assert [_figures(r) for r in together if r] == [_figures(r) for r in alone if r]
    assert any(r is not None and r.objectives[0].figures.bad > 0 for r in together)


def test_batched_recompute_query_count_does_not_grow_with_agreements() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from credits.recompute import recompute_agreements

    with time_machine.travel(MARCH, tick=False):
        ids = [
            agreement_import(
                data=simple_doc(agreement=f"shop-{n}", customer={"key": f"c{n}", "name": f"C {n}"})
            ).agreement.pk
            for n in range(8)
        ]
    now = MARCH + dt.timedelta(days=3)
    recompute_agreements(agreement_ids=ids, now=now)
    counts = []
    for batch in (ids[:2], ids):
        with CaptureQueriesContext(connection) as captured:
            summaries = recompute_agreements(agreement_ids=batch, now=now)
        assert [s.evaluated for s in summaries] == [["2026-03"]] * len(batch)
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
