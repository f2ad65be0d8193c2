"""Amendments (SPEC §3 rule 20, §4 .../amendments/): proposed by the provider, applied
from the period they name only once the customer accepts."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements.models import Agreement, Customer
from contracts.models import Amendment
from notifications.models import Event

pytestmark = pytest.mark.django_db
UTC = dt.UTC
JUNE = dt.datetime(2026, 6, 10, 10, tzinfo=UTC)


@pytest.fixture
def june() -> Any:
    with time_machine.travel(JUNE, tick=False) as traveller:
        yield traveller


def proposal(original: dict[str, Any], **over: Any) -> dict[str, Any]:
    doc = copy.deepcopy(original)
    doc["objectives"][0]["target"] = 99.5
    doc["effective_from"] = str(doc["effective_from"])
    doc["effective_to"] = str(doc["effective_to"])
    doc["calendars"]["business-hours"]["holidays"] = [
        str(d) for d in doc["calendars"]["business-hours"]["holidays"]
    ]
    body = {"document": doc, "effective_period": "2026-08", "note": "Lower target, lower fee"}
    body.update(over)
    return body


def _propose(api: Any, agreement: Agreement, body: dict[str, Any]) -> Any:
    return api("write").post(f"/api/v1/agreements/{agreement.key}/amendments/", body, format="json")


def test_propose_then_accept_applies_from_the_named_period_only(
    agreement: Agreement, document: dict[str, Any], api: Any, june: Any
) -> None:
    response = _propose(api, agreement, proposal(document))
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "proposed"
    amendment = Amendment.objects.get(pk=response.json()["id"])
    assert agreement.versions.count() == 1, "nothing applies before acceptance"

    customer = api("write", customer=agreement.customer)
    accepted = customer.post(
        f"/api/v1/agreements/{agreement.key}/amendments/{amendment.pk}/accept/", format="json"
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json() == {"id": amendment.pk, "status": "accepted"}
    amendment.refresh_from_db()
    assert amendment.decided_by.startswith("api-key:") and amendment.decided_at == JUNE
    assert amendment.version is not None and amendment.version.effective_period == "2026-08"
    july, august = agreement.version_for("2026-07"), agreement.version_for("2026-08")
    assert july is not None and august is not None
    assert july.terms["objectives"][0]["target"] == "99.9"
    assert august.terms["objectives"][0]["target"] == "99.5"
    assert "amendment" in august.note
    types = set(Event.objects.values_list("type", flat=True))
    assert {"amendment.proposed", "amendment.accepted"} <= types


def test_reject_keeps_the_terms(
    agreement: Agreement, document: dict[str, Any], api: Any, june: Any
) -> None:
    pk = _propose(api, agreement, proposal(document)).json()["id"]
    customer = api("write", customer=agreement.customer)
    url = f"/api/v1/agreements/{agreement.key}/amendments/{pk}/"
    rejected = customer.post(url + "reject/", {"note": "Too low"}, format="json")
    assert rejected.json()["status"] == "rejected"
    assert agreement.versions.count() == 1
    again = customer.post(url + "accept/", format="json")
    assert again.status_code == 400 and "already rejected" in again.json()["error"]


def test_only_the_customer_decides_and_only_the_provider_proposes(
    agreement: Agreement, other_agreement: Agreement, document: dict[str, Any], api: Any, june: Any
) -> None:
    pk = _propose(api, agreement, proposal(document)).json()["id"]
    url = f"/api/v1/agreements/{agreement.key}/amendments/{pk}/accept/"
    assert api("write").post(url, format="json").status_code == 403
    globex = api("write", customer=Customer.objects.get(key="globex"))
    assert globex.post(url, format="json").status_code == 404
    acme = api("write", customer=agreement.customer)
    assert _propose(lambda *a, **k: acme, agreement, proposal(document)).status_code == 403
    assert Amendment.objects.get().status == "proposed"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"effective_period": "2026-06"}, "effective_period"),
        ({"effective_period": "June"}, "effective_period"),
        ({"note": ""}, "note"),
        ({"document": None}, "document"),
    ],
)
def test_bad_proposals_are_400_naming_the_field(
    agreement: Agreement, document: dict[str, Any], api: Any, june: Any, over: Any, field: str
) -> None:
    response = _propose(api, agreement, proposal(document, **over))
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not Amendment.objects.exists()


def test_a_bad_document_names_its_field(
    agreement: Agreement, document: dict[str, Any], api: Any, june: Any
) -> None:
    body = proposal(document)
    body["document"]["objectives"][0]["target"] = 120
    response = _propose(api, agreement, body)
    assert response.status_code == 400
    assert "document.objectives[0].target" in response.json()["error"]
    body = proposal(document)
    body["document"]["agreement"] = "globex-hosting"
    response = _propose(api, agreement, body)
    assert response.json()["field"] == "document.agreement"


def test_an_amendment_whose_period_started_can_no_longer_be_accepted(
    agreement: Agreement, document: dict[str, Any], api: Any, june: Any
) -> None:
    pk = _propose(api, agreement, proposal(document, effective_period="2026-07")).json()["id"]
    june.move_to(dt.datetime(2026, 7, 2, tzinfo=UTC))
    customer = api("write", customer=agreement.customer)
    response = customer.post(
        f"/api/v1/agreements/{agreement.key}/amendments/{pk}/accept/", format="json"
    )
    assert response.status_code == 400 and response.json()["field"] == "effective_period"
    assert agreement.versions.count() == 1


def test_notice_after_an_accepted_amendment_keeps_each_periods_terms(
    agreement: Agreement, document: dict[str, Any], api: Any, june: Any
) -> None:
    from contracts.services import notice_give

    pk = _propose(api, agreement, proposal(document)).json()["id"]
    customer = api("write", customer=agreement.customer)
    customer.post(f"/api/v1/agreements/{agreement.key}/amendments/{pk}/accept/", format="json")
    notice_give(agreement=agreement, by="customer", actor="x", now=JUNE)
    june_terms, august_terms = agreement.version_for("2026-06"), agreement.version_for("2026-08")
    assert june_terms is not None and august_terms is not None
    assert june_terms.terms["objectives"][0]["target"] == "99.9", "not the amendment's, early"
    assert august_terms.terms["objectives"][0]["target"] == "99.5"
    assert june_terms.terms["effective_to"] == august_terms.terms["effective_to"] == "2026-09-08"
