"""The contract's life in the portal: contacts and undertakings on the agreement page,
notice with a confirmation for managers, amendments side by side, accepted or rejected."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements.models import Agreement
from agreements.services import agreement_import
from contracts.models import Amendment, Notice
from contracts.services import amendment_propose

pytestmark = pytest.mark.django_db
UTC = dt.UTC
JUNE = dt.datetime(2026, 6, 10, 10, tzinfo=UTC)


@pytest.fixture
def life(agreement: Agreement, document: dict[str, Any]) -> Agreement:
    doc = copy.deepcopy(document)
    doc["contacts"] = [
        {"role": "support", "name": "Service desk", "email": "desk@example.com", "hours": "24/7"}
    ]
    doc["responsibilities"] = {"provider": ["Announce maintenance 48 h ahead"]}
    doc["auto_renew_months"] = 12
    with time_machine.travel(JUNE - dt.timedelta(days=200), tick=False):
        return agreement_import(data=doc, actor="test").agreement


@pytest.fixture
def june() -> Any:
    with time_machine.travel(JUNE, tick=False) as traveller:
        yield traveller


def test_contacts_and_responsibilities_show_on_the_agreement_page(
    client: Any, life: Agreement, customer_user: Any, june: Any
) -> None:
    client.force_login(customer_user)
    page = client.get(f"/agreements/{life.key}/").content.decode()
    assert "Service desk" in page and "desk@example.com" in page and "24/7" in page
    assert "Announce maintenance 48 h ahead" in page
    assert "renews for 12 months unless notice is given" in page
    assert "Give notice" not in page, "a viewer may not give notice"


def test_a_manager_confirms_notice_seeing_the_end_date_first(
    client: Any, life: Agreement, manager_user: Any, customer_user: Any, june: Any
) -> None:
    client.force_login(customer_user)
    assert client.post(f"/agreements/{life.key}/notice/").status_code == 403
    client.force_login(manager_user)
    page = client.get(f"/agreements/{life.key}/").content.decode()
    assert "Notice today ends the agreement on 2026-09-08" in page
    confirm = client.get(f"/agreements/{life.key}/notice/").content.decode()
    assert "ends on <strong>2026-09-08</strong>" in confirm
    assert not Notice.objects.exists(), "showing the confirmation gives no notice"
    response = client.post(f"/agreements/{life.key}/notice/", {"reason": "Budget"})
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.by == "customer" and notice.given_by == "acme-manager"
    life.refresh_from_db()
    assert life.effective_to == dt.date(2026, 9, 8)
    page = client.get(f"/agreements/{life.key}/").content.decode()
    assert "Under notice" in page and "2026-09-08" in page


def test_a_manager_sees_the_changes_side_by_side_and_accepts(
    client: Any, life: Agreement, manager_user: Any, customer_user: Any, june: Any
) -> None:
    proposed = _proposal(life)
    proposed["monthly_fee"] = "11000.00"
    amendment = amendment_propose(
        agreement=life,
        document=proposed,
        effective_period="2026-08",
        note="Lower fee",
        actor="staff:ann",
    )
    url = f"/agreements/{life.key}/amendments/{amendment.pk}/"
    client.force_login(customer_user)
    page = client.get(url).content.decode()
    assert "12,000.00 EUR" in page and "11,000.00 EUR" in page
    assert "Monthly fee <strong>(changes)</strong>" in page
    assert client.post(url, {"decision": "accept"}).status_code == 403
    client.force_login(manager_user)
    assert client.post(url, {"decision": "accept"}).status_code == 302
    amendment.refresh_from_db()
    assert amendment.status == Amendment.Status.ACCEPTED
    assert amendment.decided_by == "acme-manager"
    version = life.version_for("2026-08")
    assert version is not None and version.terms["monthly_fee"] == "11000.00"
    july = life.version_for("2026-07")
    assert july is not None and july.terms["monthly_fee"] == "12000.00"
    page = client.get(url).content.decode()
    assert "Accepted" in page or "accepted" in page


def test_an_outsider_sees_no_amendment(
    client: Any, life: Agreement, outsider: Any, june: Any
) -> None:
    amendment = amendment_propose(
        agreement=life, document=_proposal(life), effective_period="2026-08", note="n", actor="x"
    )
    client.force_login(outsider)
    assert client.get(f"/agreements/{life.key}/amendments/{amendment.pk}/").status_code == 404
    assert client.get(f"/agreements/{life.key}/notice/").status_code == 404


def _proposal(agreement: Agreement) -> dict[str, Any]:
    from agreements.services import agreement_export

    return copy.deepcopy(agreement_export(agreement))
