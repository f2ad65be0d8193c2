"""Notice, renewal and reminders (SPEC §3 rule 20, §4 POST .../notice/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements.models import Agreement, Customer
from contracts.models import Notice
from contracts.reminders import send_reminders
from contracts.services import ContractError, notice_give, renew_if_due
from notifications.models import Event

pytestmark = pytest.mark.django_db
UTC = dt.UTC
JUNE = dt.datetime(2026, 6, 10, 10, tzinfo=UTC)  # 12:00 in Berlin


@pytest.fixture
def june() -> Any:
    with time_machine.travel(JUNE, tick=False) as traveller:
        yield traveller


def test_customer_notice_ends_the_agreement_after_the_notice_period(
    agreement: Agreement, api: Any, june: Any
) -> None:
    customer = agreement.customer
    response = api("write", customer=customer).post(
        f"/api/v1/agreements/{agreement.key}/notice/",
        {"by": "customer", "reason": "Moving in-house"},
        format="json",
    )
    assert response.status_code == 201, response.content
    # 90 days after 2026-06-10 (local day in Berlin), inclusive end.
    assert response.json() == {"effective_to": "2026-09-08"}
    agreement.refresh_from_db()
    assert agreement.effective_to == dt.date(2026, 9, 8)
    notice = Notice.objects.get()
    assert notice.by == "customer" and notice.given_by.startswith("api-key:")
    version = agreement.versions.order_by("-number").first()
    assert version is not None and version.terms["effective_to"] == "2026-09-08"
    assert version.effective_period == "2026-06" and "notice" in version.note
    assert Event.objects.filter(type="agreement.notice_given").count() == 1


def test_notice_late_in_the_local_day_counts_from_that_local_day(agreement: Agreement) -> None:
    # 23:30 UTC on 2026-06-10 is already 2026-06-11 in Berlin.
    late = dt.datetime(2026, 6, 10, 23, 30, tzinfo=UTC)
    notice = notice_give(agreement=agreement, by="provider", actor="staff:ann", now=late)
    assert notice.end_on == dt.date(2026, 9, 9)


def test_a_later_end_may_be_asked_for_and_an_earlier_one_is_refused(
    agreement: Agreement, api: Any, june: Any
) -> None:
    client = api("write")
    early = client.post(
        f"/api/v1/agreements/{agreement.key}/notice/",
        {"by": "provider", "end_on": "2026-07-01"},
        format="json",
    )
    assert early.status_code == 400
    assert early.json()["field"] == "end_on" and "2026-09-08" in early.json()["error"]
    assert not Notice.objects.exists()
    later = client.post(
        f"/api/v1/agreements/{agreement.key}/notice/",
        {"by": "provider", "end_on": "2026-10-31"},
        format="json",
    )
    assert later.json() == {"effective_to": "2026-10-31"}
    again = client.post(
        f"/api/v1/agreements/{agreement.key}/notice/", {"by": "customer"}, format="json"
    )
    assert again.status_code == 400 and "already given" in again.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"by": "landlord"}, "by"),
        ({}, "by"),
        ({"by": "provider", "end_on": "31/10/2026"}, "end_on"),
        ({"by": "provider", "reason": "a\nb"}, "reason"),
    ],
)
def test_bad_notice_is_a_400_naming_the_field(
    agreement: Agreement, api: Any, body: dict[str, Any], field: str
) -> None:
    response = api("write").post(f"/api/v1/agreements/{agreement.key}/notice/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == field
    agreement.refresh_from_db()
    assert agreement.effective_to == dt.date(2026, 12, 31) and not Notice.objects.exists()


def test_a_customer_key_gives_only_the_customers_notice(
    agreement: Agreement, other_agreement: Agreement, api: Any
) -> None:
    acme = api("write", customer=agreement.customer)
    url = f"/api/v1/agreements/{agreement.key}/notice/"
    assert acme.post(url, {"by": "provider"}, format="json").status_code == 403
    globex = api("write", customer=Customer.objects.get(key="globex"))
    assert globex.post(url, {"by": "customer"}, format="json").status_code == 404
    assert not Notice.objects.exists()


def _renewing(agreement: Agreement) -> Agreement:
    agreement.auto_renew_months = 12
    agreement.save()
    return agreement


def test_auto_renewal_extends_an_agreement_without_notice_once(agreement: Agreement) -> None:
    _renewing(agreement)
    before = dt.datetime(2026, 12, 30, 12, tzinfo=UTC)
    assert renew_if_due(agreement=agreement, now=before) is None
    last_day = dt.datetime(2026, 12, 31, 8, tzinfo=UTC)
    assert renew_if_due(agreement=agreement, now=last_day) == dt.date(2027, 12, 31)
    assert renew_if_due(agreement=agreement, now=last_day) is None
    agreement.refresh_from_db()
    assert agreement.effective_to == dt.date(2027, 12, 31)
    assert Event.objects.filter(type="agreement.renewed").count() == 1


def test_notice_stops_the_renewal(agreement: Agreement) -> None:
    _renewing(agreement)
    notice_give(agreement=agreement, by="customer", actor="x", now=JUNE)
    assert renew_if_due(agreement=agreement, now=dt.datetime(2027, 1, 5, tzinfo=UTC)) is None
    agreement.refresh_from_db()
    assert agreement.effective_to == dt.date(2026, 9, 8)


def test_reminders_90_30_and_7_days_ahead_each_once(agreement: Agreement) -> None:
    def types_at(day: dt.date) -> list[tuple[str, int]]:
        now = dt.datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        return sorted((e.type, e.payload["days"]) for e in send_reminders(now=now))

    # Ends 2026-12-31; notice (90 days) can be given until 2026-10-02.
    assert types_at(dt.date(2026, 7, 3)) == []
    assert types_at(dt.date(2026, 7, 4)) == [("agreement.notice_deadline", 90)]
    assert types_at(dt.date(2026, 7, 5)) == []
    assert types_at(dt.date(2026, 10, 2)) == [
        ("agreement.ending", 90),
        ("agreement.notice_deadline", 7),
    ]
    assert types_at(dt.date(2026, 12, 1)) == [("agreement.ending", 30)]
    assert types_at(dt.date(2026, 12, 24)) == [("agreement.ending", 7)]
    assert types_at(dt.date(2026, 12, 25)) == []
    assert Event.objects.filter(type="agreement.ending").count() == 3


def test_notice_moves_the_ending_reminders_and_ends_the_deadline_ones(
    agreement: Agreement,
) -> None:
    notice_give(agreement=agreement, by="customer", actor="x", now=JUNE)
    sent = send_reminders(now=dt.datetime(2026, 6, 11, 9, tzinfo=UTC))
    assert [(e.type, e.payload["effective_to"]) for e in sent] == [
        ("agreement.ending", "2026-09-08")
    ]


def test_an_unknown_by_is_refused_by_the_service(agreement: Agreement) -> None:
    with pytest.raises(ContractError, match="by: must be customer or provider"):
        notice_give(agreement=agreement, by="nobody", actor="x", now=JUNE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"auto_renew_months": 0}, "auto_renew_months: must be between 1 and 120"),
        (
            {"contacts": [{"role": "support", "email": "nope"}]},
            "contacts[0].email: must be an email address",
        ),
        ({"contacts": [{"name": "Desk"}]}, "contacts[0].role: is required"),
        ({"contacts": [{"role": "x", "fax": "1"}]}, "contacts[0].fax: unknown field"),
        ({"responsibilities": {"landlord": ["x"]}}, "responsibilities.landlord: unknown field"),
        ({"reports": [{"to": "finance"}]}, "reports[0].to: must be an email address"),
        ({"reports": "finance@acme.example"}, "reports: must be a list of recipients"),
    ],
)
def test_contract_life_keys_are_checked_naming_the_field(
    document: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    from agreements.document import DocumentError, validate

    with pytest.raises(DocumentError) as error:
        validate({**document, **change})
    assert message in str(error.value)


def test_contract_life_keys_round_trip_through_import_and_export(
    document: dict[str, Any],
) -> None:
    from agreements.services import agreement_export, agreement_import

    life = {
        "auto_renew_months": 12,
        "contacts": [{"role": "support", "name": "Desk", "phone": "+49 30 1234567"}],
        "responsibilities": {"customer": ["Report incidents through the service desk"]},
        "reports": [{"to": "finance@acme.example"}],
    }
    agreement = agreement_import(data={**document, **life}, actor="test").agreement
    exported = agreement_export(agreement)
    assert {k: exported[k] for k in life} == life
