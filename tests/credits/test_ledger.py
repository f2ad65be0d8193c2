"""Credits: rule 12 at close, the append-only ledger, exactly once, claims, restatements."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse

from agreements.models import Agreement, Service
from agreements.services import agreement_import
from credits.claims import claim_decide, claim_submit, expire_claims
from credits.closing import close_due_periods
from credits.ledger import LedgerError, balance, record_entry
from credits.models import Claim, LedgerEntry, Period, Restatement
from credits.restatement import RestateError, restate_period
from metrics.services import probes_ingest

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MARCH = dt.datetime(2026, 3, 1, tzinfo=UTC)
AFTER = dt.datetime(2026, 4, 2, 0, 5, tzinfo=UTC)


def doc(**over: Any) -> dict[str, Any]:
    d = {
        "agreement": "shop",
        "customer": {"key": "shop-co", "name": "Shop Co"},
        "name": "Shop",
        "timezone": "UTC",
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "credit_cap_percent": 100,
        "objectives": [
            {
                "key": "up",
                "service": "web",
                "indicator": "availability",
                "target": 99,
                "credits": [{"below": 99, "percent": 10}, {"below": 90, "percent": 30}],
            },
            {
                "key": "up2",
                "service": "web2",
                "indicator": "availability",
                "target": 99,
                "credits": [{"below": 99, "percent": 25}],
            },
        ],
    }
    d.update(over)
    return d


def load(ok: int, failed: int, service: str = "web", start: dt.datetime = MARCH) -> None:
    sid = Service.objects.get(key=service).pk
    rows = [
        (sid, "p", start + dt.timedelta(minutes=i), i >= failed, 1.0 if i >= failed else None)
        for i in range(ok + failed)
    ]
    probes_ingest(rows=rows, closed={})


def shop(**over: Any) -> Any:
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=doc(**over)).agreement


def close() -> Period:
    close_due_periods(now=AFTER)
    return Period.objects.get(agreement__key="shop", period="2026-03")


# Rule 12 ------------------------------------------------------------------------------


def test_achieved_equal_to_below_earns_nothing_from_that_tier() -> None:
    shop()
    load(ok=99, failed=1)  # exactly 99: not below 99
    assert close().credit_amount == Decimal("0.00")


def test_tier_with_lowest_below_above_achieved() -> None:
    shop()
    load(ok=85, failed=15)  # 85 < 90 -> 30 %
    load(ok=100, failed=0, service="web2")
    assert close().credit_amount == Decimal("300.00")


def test_cap_binds() -> None:
    shop(credit_cap_percent=40)
    load(ok=85, failed=15)  # 30 %
    load(ok=50, failed=50, service="web2")  # 25 %
    period = close()
    assert period.credit_subtotal == Decimal("550.0000")
    assert period.credit_amount == Decimal("400.00")


def test_half_cent_rounds_half_up() -> None:
    shop(monthly_fee="0.05")
    load(ok=95, failed=5)  # 10 % of 0.05 = 0.005 -> 0.01
    load(ok=100, failed=0, service="web2")
    assert close().credit_amount == Decimal("0.01")


def test_no_tiers_and_no_data_earn_nothing() -> None:
    d = doc()
    d["objectives"][0]["credits"] = []
    with time_machine.travel(MARCH, tick=False):
        agreement_import(data=d)
    load(ok=10, failed=90)
    period = close()  # web2 has no data at all
    assert period.credit_amount == Decimal("0.00")
    assert {e.objective_key: e.status for e in period.evaluations.all()} == {
        "up": "breached",
        "up2": "no_data",
    }
    assert not LedgerEntry.objects.exists()


# The ledger is append-only ------------------------------------------------------------


def _entry() -> LedgerEntry:
    shop()
    load(ok=95, failed=5)
    close()
    return LedgerEntry.objects.get()


def test_entries_cannot_be_changed_or_deleted_through_the_models() -> None:
    entry = _entry()
    entry.amount = Decimal("1.00")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("2.00"))
    with pytest.raises(PermissionError):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().amount == Decimal("100.00")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    "sql", ["UPDATE credits_ledgerentry SET amount = 0", "DELETE FROM credits_ledgerentry"]
)
def test_raw_sql_cannot_change_the_ledger_on_postgresql(sql: str) -> None:
    _entry()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert LedgerEntry.objects.get().amount == Decimal("100.00")


def test_balance_is_sum_of_entries_and_staff_entries_need_reasons() -> None:
    entry = _entry()
    agreement = entry.agreement
    record_entry(
        agreement=agreement,
        kind="applied",
        amount=Decimal("60.00"),
        actor="finance",
        reason="invoice 2026-04",
        reference="INV-1",
        now=AFTER,
    )
    record_entry(
        agreement=agreement,
        kind="adjustment",
        amount=Decimal("-5.50"),
        actor="finance",
        reason="goodwill correction",
        now=AFTER,
    )
    assert balance(agreement) == Decimal("34.50")
    with pytest.raises(LedgerError, match="reason"):
        record_entry(
            agreement=agreement,
            kind="adjustment",
            amount=Decimal("1"),
            actor="x",
            reason=" ",
            now=AFTER,
        )
    with pytest.raises(LedgerError, match="more than the balance"):
        record_entry(
            agreement=agreement,
            kind="applied",
            amount=Decimal("100"),
            actor="x",
            reason="r",
            now=AFTER,
        )
    with pytest.raises(LedgerError, match="only applied and adjustment"):
        record_entry(
            agreement=agreement,
            kind="credit",
            amount=Decimal("1"),
            actor="x",
            reason="r",
            now=AFTER,
        )


def test_idempotency_key_is_unique_in_the_database() -> None:
    entry = _entry()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            agreement=entry.agreement,
            kind="credit",
            amount=Decimal("100.00"),
            currency="EUR",
            idempotency_key=entry.idempotency_key,
            created_at=AFTER,
            created_by="x",
        )


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closers_enter_the_credit_once() -> None:
    shop()
    load(ok=95, failed=5)
    from credits.recompute import recompute_agreement

    recompute_agreement(
        agreement_id=Agreement.objects.get(key="shop").pk, now=AFTER - dt.timedelta(days=1)
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def closer() -> None:
        try:
            barrier.wait()
            close_due_periods(now=AFTER)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=closer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert LedgerEntry.objects.filter(kind="credit").count() == 1
    assert Period.objects.get(period="2026-03").state == "closed"


# Claims --------------------------------------------------------------------------------


def test_claim_life_cycle_with_time_frozen(api: Any, admin_client: Any) -> None:
    agreement = shop(claim_window_days=30)
    load(ok=95, failed=5)
    with time_machine.travel(AFTER, tick=False):
        period = close()
        claim = Claim.objects.get()
        assert (claim.state, claim.amount) == ("claimable", Decimal("100.00"))
        assert not LedgerEntry.objects.exists()
    with time_machine.travel(AFTER + dt.timedelta(days=3), tick=False):
        client = api("write", customer=agreement.customer)
        response = client.post(
            "/api/v1/agreements/shop/claims/", {"period": "2026-03"}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["state"] == "claimed"
        again = client.post("/api/v1/agreements/shop/claims/", {"period": "2026-03"}, format="json")
        assert again.status_code == 400
        assert "not claimable" in again.json()["error"]
    with time_machine.travel(AFTER + dt.timedelta(days=5), tick=False):
        admin_client.post(
            reverse("admin:credits_claim_changelist"),
            {"action": "approve", "_selected_action": [claim.pk]},
        )
    claim.refresh_from_db()
    assert claim.state == "approved"
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.period) == ("credit", Decimal("100.00"), period)
    assert [e.state for e in claim.events.all()] == ["claimable", "claimed", "approved"]


def test_rejection_needs_a_reason_and_enters_nothing(admin_client: Any) -> None:
    shop(claim_window_days=30)
    load(ok=95, failed=5)
    close()
    claim = Claim.objects.get()
    claim_submit(claim_id=claim.pk, actor="customer", now=AFTER)
    with pytest.raises(LedgerError, match="reason"):
        claim_decide(claim_id=claim.pk, approve=False, actor="staff", now=AFTER)
    url = reverse("admin:credits_claim_changelist")
    page = admin_client.post(url, {"action": "reject", "_selected_action": [claim.pk]})
    assert b"Reason" in page.content
    admin_client.post(
        url,
        {
            "action": "reject",
            "_selected_action": [claim.pk],
            "confirm": "yes",
            "reason": "outage caused by the customer's own change",
        },
    )
    claim.refresh_from_db()
    assert (claim.state, claim.reason) == ("rejected", "outage caused by the customer's own change")
    assert not LedgerEntry.objects.exists()


def test_unclaimed_credit_expires() -> None:
    shop(claim_window_days=30)
    load(ok=95, failed=5)
    close()
    assert expire_claims(now=AFTER + dt.timedelta(days=29)) == 0
    assert expire_claims(now=AFTER + dt.timedelta(days=31)) == 1
    claim = Claim.objects.get()
    assert claim.state == "expired"
    with pytest.raises(LedgerError):
        claim_submit(claim_id=claim.pk, actor="late customer", now=AFTER + dt.timedelta(days=32))


def test_claim_outside_window_is_refused() -> None:
    shop(claim_window_days=30)
    load(ok=95, failed=5)
    close()
    with pytest.raises(LedgerError, match="window"):
        claim_submit(claim_id=Claim.objects.get().pk, actor="c", now=AFTER + dt.timedelta(days=31))


# Restatement --------------------------------------------------------------------------


def test_restatement_reverses_and_restates(api: Any) -> None:
    agreement = shop()
    load(ok=95, failed=5)
    period = close()
    assert period.credit_amount == Decimal("100.00")
    # Late data: ten more failed minutes arrive for March.
    web = Service.objects.get(key="web")
    result = probes_ingest(
        rows=[
            (web.pk, "p", MARCH + dt.timedelta(hours=5, minutes=i), False, None) for i in range(10)
        ],
        closed={web.pk: web.closed_until},
    )
    assert result.late == 10
    response = api("write").post(
        "/api/v1/agreements/shop/periods/2026-03/restate/",
        {"reason": "late probe data from the eu probe"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revision"] == 2
    assert body["credit"]["amount"] == "300.00"  # 95 / 110 = 86.4 %: below 90, 30 % of 1000.00
    period.refresh_from_db()
    kinds = list(LedgerEntry.objects.order_by("id").values_list("kind", "amount", "revision"))
    assert kinds[0] == ("credit", Decimal("100.00"), 1)
    assert kinds[1] == ("reversal", Decimal("-100.00"), 1)
    assert kinds[2][0] == "credit" and kinds[2][2] == 2
    assert balance(agreement) == period.credit_amount
    assert period.evaluations.filter(revision=1).get(objective_key="up").bad == 5
    assert period.evaluations.filter(revision=2).get(objective_key="up").bad == 15
    assert Restatement.objects.get().reason == "late probe data from the eu probe"


def test_restating_needs_a_closed_period_and_a_reason() -> None:
    agreement = shop()
    from credits.recompute import recompute_agreement

    recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(days=2))
    period = Period.objects.get()
    with pytest.raises(RestateError, match="still open"):
        restate_period(period_id=period.pk, actor="staff", reason="why not")
    close()
    with pytest.raises(RestateError, match="reason"):
        restate_period(period_id=period.pk, actor="staff", reason="")


def test_restating_a_claimable_credit_supersedes_the_claim() -> None:
    shop(claim_window_days=30)
    load(ok=95, failed=5)
    period = close()
    _late_failures(10)
    restate_period(
        period_id=period.pk, actor="staff", reason="recheck", now=AFTER + dt.timedelta(days=1)
    )
    states = dict(Claim.objects.values_list("revision", "state"))
    assert states == {1: "superseded", 2: "claimable"}
    assert not LedgerEntry.objects.exists()


def _late_failures(count: int) -> None:
    web = Service.objects.get(key="web")
    probes_ingest(
        rows=[
            (web.pk, "p", MARCH + dt.timedelta(hours=5, minutes=i), False, None)
            for i in range(count)
        ],
        closed={web.pk: web.closed_until},
    )


def test_restating_with_no_change_appends_nothing() -> None:
    agreement = shop()
    load(ok=95, failed=5)
    period = close()
    before = list(LedgerEntry.objects.values_list("kind", "amount"))
    for n in range(2):
        restate_period(
            period_id=period.pk,
            actor="staff",
            reason=f"check {n}",
            now=AFTER + dt.timedelta(days=1),
        )
    assert list(LedgerEntry.objects.values_list("kind", "amount")) == before
    assert Restatement.objects.count() == 2  # the requests are kept, the ledger untouched
    # A later restatement that does change the amount reverses the credit in force once.
    _late_failures(10)
    period = restate_period(
        period_id=period.pk, actor="staff", reason="late data", now=AFTER + dt.timedelta(days=2)
    )
    kinds = list(LedgerEntry.objects.order_by("id").values_list("kind", "amount", "revision"))
    assert kinds == [
        ("credit", Decimal("100.00"), 1),
        ("reversal", Decimal("-100.00"), 1),
        ("credit", Decimal("300.00"), 4),
    ]
    assert balance(agreement) == period.credit_amount == Decimal("300.00")


def test_restating_a_claimable_credit_with_no_change_keeps_the_claim() -> None:
    shop(claim_window_days=30)
    load(ok=95, failed=5)
    period = close()
    restate_period(
        period_id=period.pk, actor="staff", reason="recheck", now=AFTER + dt.timedelta(days=1)
    )
    assert dict(Claim.objects.values_list("revision", "state")) == {1: "claimable"}


def test_restate_permissions(api: Any) -> None:
    agreement = shop()
    close()
    url = "/api/v1/agreements/shop/periods/2026-03/restate/"
    assert api("read").post(url, {"reason": "x"}, format="json").status_code == 403
    assert (
        api("write", customer=agreement.customer)
        .post(url, {"reason": "x"}, format="json")
        .status_code
        == 403
    )
    assert api("write").post(url, {}, format="json").status_code == 400
    assert (
        api("write")
        .post("/api/v1/agreements/shop/periods/2026-01/restate/", {"reason": "x"}, format="json")
        .status_code
        == 404
    )


# The ledger API ------------------------------------------------------------------------


def test_ledger_api_newest_first_paginated_and_csv(api: Any, other_agreement: Any) -> None:
    agreement = shop()
    load(ok=95, failed=5)
    close()
    for i in range(3):
        record_entry(
            agreement=agreement,
            kind="adjustment",
            amount=Decimal("1.25"),
            actor="finance",
            reason=f"=cmd {i}",
            now=AFTER + dt.timedelta(hours=i + 1),
        )
    client = api("read", customer=agreement.customer)
    body = client.get("/api/v1/agreements/shop/ledger/?page_size=2").json()
    assert body["balance"] == "103.75"
    assert body["currency"] == "EUR"
    assert body["count"] == 4
    assert [e["reason"] for e in body["entries"]] == ["=cmd 2", "=cmd 1"]
    assert body["next"].endswith("page=2&page_size=2")
    page2 = client.get("/api/v1/agreements/shop/ledger/?page=2&page_size=2").json()
    assert page2["entries"][-1]["kind"] == "credit"
    csv_text = client.get("/api/v1/agreements/shop/ledger/export.csv").content.decode()
    assert "'=cmd 0" in csv_text and csv_text.strip().endswith("103.75")
    assert client.get("/api/v1/agreements/shop/ledger/?page=x").status_code == 400
    assert (
        api("read", customer=other_agreement.customer)
        .get("/api/v1/agreements/shop/ledger/")
        .status_code
        == 404
    )


def test_ledger_admin_pages(admin_client: Any) -> None:
    agreement = shop()
    load(ok=95, failed=5)
    close()
    assert admin_client.get(reverse("admin:credits_ledgerentry_changelist")).status_code == 200
    response = admin_client.post(
        reverse("admin:credits_ledgerentry_record"),
        {
            "agreement": agreement.pk,
            "kind": "applied",
            "amount": "40.00",
            "reason": "invoice 7",
            "reference": "INV-7",
        },
    )
    assert response.status_code == 302
    assert balance(agreement) == Decimal("60.00")
    response = admin_client.post(
        reverse("admin:credits_ledgerentry_record"),
        {"agreement": agreement.pk, "kind": "adjustment", "amount": "abc", "reason": "x"},
    )
    assert b"Not a number" in response.content
