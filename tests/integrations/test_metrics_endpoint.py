"""GET /metrics: the open period's figures in the Prometheus text format (SPEC §4)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from agreements.models import Service
from agreements.services import agreement_import
from credits.recompute import recompute_agreement
from metrics.services import probes_ingest

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MARCH = dt.datetime(2026, 3, 1, tzinfo=UTC)
NOW = MARCH + dt.timedelta(minutes=100)


def doc(agreement: str, customer: str) -> dict[str, Any]:
    return {
        "agreement": agreement,
        "customer": {"key": customer, "name": customer.title()},
        "name": "Shop",
        "timezone": "UTC",
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "objectives": [
            {
                "key": "up",
                "service": f"{agreement}-web",
                "indicator": "availability",
                "target": 99,
                "credits": [{"below": 99, "percent": 10}, {"below": 90, "percent": 30}],
            },
        ],
    }


def minutes(service: Service, start: dt.datetime, count: int, ok: bool) -> None:
    rows = [
        (
            service.pk,
            "default",
            start + dt.timedelta(minutes=i, seconds=10),
            ok,
            5.0 if ok else None,
        )
        for i in range(count)
    ]
    probes_ingest(rows=rows, closed={})


@pytest.fixture
def shops() -> dict[str, Any]:
    """Two customers' agreements, each 98 good minutes then 2 down in March."""
    with time_machine.travel(MARCH, tick=False):
        found = {
            name: agreement_import(data=copy.deepcopy(doc(name, f"{name}-co"))).agreement
            for name in ("shop", "mall")
        }
    for name, agreement in found.items():
        web = Service.objects.get(key=f"{name}-web")
        minutes(web, MARCH, 98, True)
        minutes(web, MARCH + dt.timedelta(minutes=98), 2, False)
        with time_machine.travel(NOW, tick=False):
            recompute_agreement(agreement_id=agreement.pk, period="2026-03")
    return found


def scrape(client: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with time_machine.travel(NOW + dt.timedelta(seconds=5), tick=False):
        response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def labels(agreement: str, **extra: str) -> tuple[tuple[str, str], ...]:
    base = {"agreement": agreement, "customer": f"{agreement}-co", "objective": "up", **extra}
    return tuple(sorted(base.items()))


def test_figures_are_the_compliance_figures(api: Any, shops: dict[str, Any]) -> None:
    client = api("read")
    metrics = scrape(client)
    with time_machine.travel(NOW + dt.timedelta(seconds=5), tick=False):
        compliance = client.get("/api/v1/agreements/shop/compliance/?period=2026-03").json()
    objective = compliance["objectives"][0]
    # By hand: 98 good minutes of 100 measured.
    assert metrics["sla_objective_achieved"][labels("shop")] == 98.0
    assert objective["achieved"] == 98
    assert metrics["sla_objective_target"][labels("shop")] == 99.0
    assert metrics["sla_error_budget_remaining_ratio"][labels("shop")] == pytest.approx(
        objective["budget_remaining_percent"] / 100
    )
    status = {
        dict(key)["status"]: value
        for key, value in metrics["sla_objective_status"].items()
        if dict(key)["agreement"] == "shop"
    }
    assert status == {
        "met": float(objective["status"] == "met"),
        "at_risk": float(objective["status"] == "at_risk"),
        "breached": float(objective["status"] == "breached"),
        "no_data": float(objective["status"] == "no_data"),
    }
    assert sum(status.values()) == 1
    credit = metrics["sla_period_credit_amount"][
        (("agreement", "shop"), ("currency", "EUR"), ("customer", "shop-co"))
    ]
    # 98 % is below 99: a 10 % credit of the 1000.00 fee, if the period closed now.
    assert Decimal(str(credit)) == Decimal(compliance["credit"]["amount"]) == Decimal("100.00")


def test_a_customer_key_sees_only_its_customer(api: Any, shops: dict[str, Any]) -> None:
    metrics = scrape(api("read", customer=shops["mall"].customer))
    agreements = {dict(key)["agreement"] for key in metrics["sla_objective_target"]}
    assert agreements == {"mall"}
    assert all(dict(k)["customer"] == "mall-co" for k in metrics["sla_period_credit_amount"])


def test_a_provider_key_sees_every_agreement(api: Any, shops: dict[str, Any]) -> None:
    metrics = scrape(api("read"))
    assert {dict(key)["agreement"] for key in metrics["sla_objective_target"]} == {"shop", "mall"}


def test_without_a_key_401_and_without_read_403(api: Any, shops: dict[str, Any]) -> None:
    from rest_framework.test import APIClient

    anonymous = APIClient().get("/metrics")
    assert anonymous.status_code == 401
    assert "error" in anonymous.json()
    refused = api("ingest").get("/metrics")
    assert refused.status_code == 403
    assert "read" in refused.json()["error"]


def test_queries_do_not_grow_with_agreements(
    api: Any, shops: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    client = api("read")
    with django_assert_max_num_queries(8):
        scrape(client)


def test_the_bonus_earned_so_far_is_beside_the_credit(api: Any, shops: dict[str, Any]) -> None:
    document = doc("kiosk", "kiosk-co")
    document["objectives"][0] |= {
        "target": 90,
        "credits": [{"below": 90, "percent": 10}],
        "bonus": [{"above": 97, "percent": 2}],
    }
    with time_machine.travel(MARCH, tick=False):
        kiosk = agreement_import(data=document).agreement
    web = Service.objects.get(key="kiosk-web")
    minutes(web, MARCH, 98, True)
    minutes(web, MARCH + dt.timedelta(minutes=98), 2, False)
    with time_machine.travel(NOW, tick=False):
        recompute_agreement(agreement_id=kiosk.pk, period="2026-03")
    client = api("read")
    metrics = scrape(client)
    with time_machine.travel(NOW + dt.timedelta(seconds=5), tick=False):
        compliance = client.get("/api/v1/agreements/kiosk/compliance/?period=2026-03").json()
    key = (("agreement", "kiosk"), ("currency", "EUR"), ("customer", "kiosk-co"))
    # 98 % is above 97: a 2 % bonus of the 1000.00 fee so far, and no credit.
    bonus = metrics["sla_period_bonus_amount"][key]
    assert Decimal(str(bonus)) == Decimal(compliance["bonus"]["amount"]) == Decimal("20.00")
    assert metrics["sla_period_credit_amount"][key] == 0.0
    # An agreement without bonus tiers has a bonus of zero beside its credit.
    shop = (("agreement", "shop"), ("currency", "EUR"), ("customer", "shop-co"))
    assert metrics["sla_period_bonus_amount"][shop] == 0.0
