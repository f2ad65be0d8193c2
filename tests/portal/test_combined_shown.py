"""The attribution of objectives over several services (rule 18) and the bonus (rule 12)
on the agreement page, in the statement (CSV and PDF) and the compliance API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements import display
from agreements.models import Membership
from credits.closing import close_due_periods
from credits.recompute import recompute_agreement
from credits.statements import statement_of
from portal.statements import statement_csv, statement_pdf
from tests.credits.test_combined_objectives import (
    AFTER_MARCH,
    MARCH,
    MINUTE,
    hour_with_outages,
    imported,
    probes,
)

pytestmark = pytest.mark.django_db
SHARE = "web-frontend (Example Web Ltd) 10 min, payments-gateway (PayCo) 20 min"


@pytest.fixture
def closed_march() -> Any:
    """March closed: the issue's outages in its first hour, every other minute of the
    first 1000 up, so 975 up of 1000 (97.5%): a 10% credit, no bonus."""
    agreement = imported()
    probes("web-frontend", MARCH, 10, False)
    probes("web-frontend", MARCH + 10 * MINUTE, 990, True)
    probes("payments-gateway", MARCH, 5, True)
    probes("payments-gateway", MARCH + 5 * MINUTE, 20, False)
    probes("payments-gateway", MARCH + 25 * MINUTE, 975, True)
    close_due_periods(now=AFTER_MARCH)
    return agreement


@pytest.fixture
def bonus_march() -> Any:
    agreement = imported()
    probes("web-frontend", MARCH, 1000, True)
    probes("payments-gateway", MARCH, 1000, True)
    close_due_periods(now=AFTER_MARCH)
    return agreement


def test_attribution_in_words() -> None:
    shares = [
        {"service": "web-frontend", "provider": "Example Web Ltd", "bad": "10"},
        {"service": "payments-gateway", "provider": "PayCo", "bad": "20"},
    ]
    assert display.attribution(shares, "minutes") == SHARE
    assert display.attribution([{"service": "a", "provider": "", "bad": "90"}], "seconds") == (
        "a 1 min"
    )


def test_compliance_api_gives_attribution_and_bonus_beside_credit(
    api: Any, closed_march: Any
) -> None:
    body = api("read").get(f"/api/v1/agreements/{closed_march.key}/compliance/?period=2026-03")
    assert body.status_code == 200, body.content
    data = body.json()
    assert data["credit"] == {"amount": "100.00", "currency": "EUR"}
    assert data["bonus"] == {"amount": "0.00", "currency": "EUR"}
    objective = data["objectives"][0]
    assert (objective["bad"], objective["unit"]) == (25, "minutes")
    assert objective["attribution"] == [
        {
            "service": "web-frontend",
            "name": "Web frontend",
            "provider": "Example Web Ltd",
            "bad": 10,
            "unit": "minutes",
        },
        {
            "service": "payments-gateway",
            "name": "Payments",
            "provider": "PayCo",
            "bad": 20,
            "unit": "minutes",
        },
    ]
    assert objective["attribution_text"] == SHARE


def test_bonus_in_api_is_not_netted(api: Any, bonus_march: Any) -> None:
    data = api("read").get(f"/api/v1/agreements/{bonus_march.key}/compliance/?period=2026-03")
    data = data.json()
    assert data["credit"]["amount"] == "0.00"
    assert data["bonus"] == {"amount": "20.00", "currency": "EUR"}
    assert data["objectives"][0]["bonus_percent"] == 2
    history = api("read").get(
        f"/api/v1/agreements/{bonus_march.key}/compliance/history/?from=2026-03&to=2026-03"
    )
    assert history.json()["periods"][0]["bonus"] == {"amount": "20.00", "currency": "EUR"}
    ledger = api("read").get(f"/api/v1/agreements/{bonus_march.key}/ledger/").json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("bonus", "-20.00")]


def test_statement_shows_attribution_and_bonus(closed_march: Any, bonus_march: Any) -> None:
    del bonus_march  # a second agreement of the same services, with a bonus
    statement = statement_of(closed_march, "2026-03")
    assert statement is not None
    text = statement_csv(statement)
    assert "attribution,checkout-end-to-end,web-frontend,Example Web Ltd,10,minutes," in text
    assert "payments-gateway (PayCo) 20 min" in text
    assert "bonus,bonus_total,0.00,EUR" in text
    pdf = statement_pdf(statement, compress=False)
    assert b"checkout-end-to-end was down 25 min, of which:" in pdf
    # PDF string literals escape parentheses.
    assert rb"- web-frontend \(Example Web Ltd\) 10 min" in pdf
    assert rb"- payments-gateway \(PayCo\) 20 min" in pdf


def test_statement_bonus_lines(bonus_march: Any) -> None:
    statement = statement_of(bonus_march, "2026-03")
    assert statement is not None
    text = statement_csv(statement)
    assert "bonus,checkout-end-to-end,20.00,EUR,2% of monthly fee 1000.00" in text
    assert "bonus,bonus_total,20.00,EUR" in text
    pdf = statement_pdf(statement, compress=False)
    assert b"bonus to the provider: 20.00 EUR" in pdf


def _viewer(client: Any, django_user_model: Any, agreement: Any) -> None:
    user = django_user_model.objects.create_user("shop-viewer", password="pw-shop-viewer-1")
    Membership.objects.create(user=user, customer=agreement.customer, role="viewer")
    client.force_login(user)


def test_agreement_page_shows_attribution(client: Any, django_user_model: Any) -> None:
    agreement = imported()
    hour_with_outages()
    _viewer(client, django_user_model, agreement)
    with time_machine.travel(MARCH + dt.timedelta(hours=1), tick=False):
        recompute_agreement(agreement_id=agreement.pk)
        page = client.get(f"/agreements/{agreement.key}/").content.decode()
    assert "Bad time by service (supplier)" in page
    assert SHARE in page
    assert "Together, web-frontend, payments-gateway are available" in page
    assert "above 99.9%: a bonus of 2% of the monthly fee to the provider" in page


def test_agreement_page_shows_bonus_beside_credit(
    client: Any, django_user_model: Any, bonus_march: Any
) -> None:
    _viewer(client, django_user_model, bonus_march)
    with time_machine.travel(AFTER_MARCH, tick=False):
        page = client.get(f"/agreements/{bonus_march.key}/").content.decode()
    assert "Bonus</th>" in page
    assert "20.00 EUR" in page
    assert "Bad time by service" not in page, "no bad time, nothing to attribute"


def test_statement_evidence_lists_services_and_the_maintenance_that_changed_the_figure() -> None:
    from agreements.models import Service
    from metrics.models import Maintenance

    agreement = imported()
    pay = Service.objects.get(key="payments-gateway")
    # Announced a week ahead: removed from covered time (rule 3), so listed.
    Maintenance.objects.create(
        service=pay,
        external_id="m1",
        title="Gateway upgrade",
        start=MARCH + 2000 * MINUTE,
        end=MARCH + 2060 * MINUTE,
        announced_at=MARCH - dt.timedelta(days=7),
    )
    # Announced after it started: counted, it took no time out of the figure.
    Maintenance.objects.create(
        service=pay,
        external_id="m2",
        title="Hurried fix",
        start=MARCH + 3000 * MINUTE,
        end=MARCH + 3010 * MINUTE,
        announced_at=MARCH + 3005 * MINUTE,
    )
    probes("web-frontend", MARCH, 10, False)
    probes("web-frontend", MARCH + 10 * MINUTE, 990, True)
    probes("payments-gateway", MARCH, 5, True)
    probes("payments-gateway", MARCH + 5 * MINUTE, 20, False)
    probes("payments-gateway", MARCH + 25 * MINUTE, 975, True)
    close_due_periods(now=AFTER_MARCH)
    statement = statement_of(agreement, "2026-03")
    assert statement is not None
    evidence = statement.evidence["checkout-end-to-end"]
    assert [(s[0], s[3], s[4]) for s in evidence.services] == [
        ("web-frontend", 10, "minutes"),
        ("payments-gateway", 20, "minutes"),
    ]
    assert [m[0] for m in evidence.maintenance] == ["payments-gateway: Gateway upgrade"]
    text = statement_csv(statement)
    assert "evidence,service,checkout-end-to-end,,,10,minutes,web-frontend," in text
    assert "evidence,maintenance,checkout-end-to-end," in text
    assert "Hurried fix" not in text
    pdf = statement_pdf(statement, compress=False)
    assert rb"Service payments-gateway \(PayCo\) 20 min of the bad time" in pdf
    assert b'Maintenance "payments-gateway: Gateway upgrade"' in pdf
