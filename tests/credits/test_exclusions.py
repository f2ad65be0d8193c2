"""Exclusions (SPEC §3 rule 3, §4 POST /api/v1/exclusions/): removed from covered time
whatever their notice, listed with their reason, and a closed period they touch is
flagged for restatement, never changed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from agreements import engine
from agreements.models import Customer, Service
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.models import Evaluation, LedgerEntry, Period
from credits.recompute import recompute_agreement
from credits.restatement import restate_period
from credits.statements import statement_of
from metrics.exclusions import exclusion_input, exclusion_record
from metrics.models import Exclusion, LateArrival
from portal.statements import statement_csv, statement_pdf
from tests.credits.test_compliance import MARCH, minutes, simple_doc

pytestmark = pytest.mark.django_db
UTC = dt.UTC
DOWN_AT = MARCH + dt.timedelta(minutes=95)


@pytest.fixture
def shop() -> Any:
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=simple_doc()).agreement


def body(**over: Any) -> dict[str, Any]:
    data = {
        "service": "web",
        "external_id": "EX-1",
        "start": "2026-03-01T01:35:00Z",
        "end": "2026-03-01T01:40:00Z",
        "reason": "monitoring_fault",
        "note": "The probe location lost its uplink; the service was up.",
    }
    data.update(over)
    return data


def record(**over: Any) -> Exclusion:
    row, _ = exclusion_record(data=exclusion_input(body(**over), now=MARCH), actor="staff:ann")
    return row


def test_engine_removes_an_exclusion_whatever_its_notice() -> None:
    period = (MARCH, MARCH + dt.timedelta(days=1))
    hole = (MARCH + dt.timedelta(hours=2), MARCH + dt.timedelta(hours=3))
    late = engine.Maintenance(start=hole[0], end=hole[1], announced_at=hole[0])
    kept = engine.covered_time(
        period=period, tz="UTC", calendar=None, maintenance=[late], notice_hours=48
    )
    assert engine.duration(kept) == dt.timedelta(days=1), "late maintenance stays covered"
    cut = engine.covered_time(
        period=period,
        tz="UTC",
        calendar=None,
        maintenance=[late],
        notice_hours=48,
        exclusions=[hole],
    )
    assert engine.duration(cut) == dt.timedelta(hours=23)
    assert (MARCH, hole[0]) in cut and (hole[1], period[1]) in cut


def test_a_false_outage_excluded_after_the_fact_no_longer_counts(shop: Any) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 95, True)
    minutes(web, DOWN_AT, 5, False)
    now = MARCH + dt.timedelta(minutes=100)
    recompute_agreement(agreement_id=shop.pk, now=now)
    assert Evaluation.objects.get().achieved == Decimal("95")
    record()
    recompute_agreement(agreement_id=shop.pk, now=now)
    evaluation = Evaluation.objects.get()
    assert evaluation.achieved == Decimal("100")
    assert evaluation.bad == 0


def test_an_exclusion_of_a_closed_period_flags_it_and_restating_applies_it(
    shop: Any, django_capture_on_commit_callbacks: Any
) -> None:
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 95, True)
    minutes(web, DOWN_AT, 5, False)
    after = dt.datetime(2026, 4, 2, 0, 1, tzinfo=UTC)
    close_due_periods(now=after)
    march = Period.objects.get(period="2026-03")
    assert march.credit_amount == Decimal("100.00") and not march.late_data

    with django_capture_on_commit_callbacks(execute=True):
        record()

    march.refresh_from_db()
    assert march.late_data, "flagged for staff to restate"
    assert march.credit_amount == Decimal("100.00"), "closed figures are not changed"
    arrival = LateArrival.objects.get(kind="exclusions")
    assert arrival.service == web and arrival.first_ts == DOWN_AT
    recompute_agreement(agreement_id=shop.pk, now=after + dt.timedelta(hours=1))
    assert Evaluation.objects.get(period=march).achieved == Decimal("95")

    restate_period(period_id=march.pk, actor="staff:ann", reason="monitoring fault excluded")
    march.refresh_from_db()
    assert march.credit_amount == Decimal("0.00")
    assert [e.kind for e in LedgerEntry.objects.order_by("id")] == ["credit", "reversal"]

    statement = statement_of(shop, "2026-03")
    assert statement is not None
    rows = list(csv.reader(io.StringIO(statement_csv(statement))))
    (line,) = [r for r in rows if r[:2] == ["evidence", "exclusion"]]
    assert line[7] == "EX-1"
    assert "a fault of the monitoring" in line[8] and "lost its uplink" in line[8]
    pdf = statement_pdf(statement, compress=False)
    assert b"Exclusion EX-1" in pdf and b"a fault of the monitoring" in pdf


def test_the_same_external_id_updates_and_keeps_one_row(shop: Any) -> None:
    record()
    row = record(end="2026-03-01T02:00:00Z", reason="third_party", note="Carrier outage.")
    assert Exclusion.objects.count() == 1
    assert row.end == dt.datetime(2026, 3, 1, 2, tzinfo=UTC) and row.reason == "third_party"
    assert row.recorded_by == "staff:ann"


def test_api_records_and_updates_for_a_provider_key(shop: Any, api: Any) -> None:
    client = api("write")
    first = client.post("/api/v1/exclusions/", body(), format="json")
    assert first.status_code == 201, first.content
    assert first.json()["reason"] == "monitoring_fault"
    again = client.post("/api/v1/exclusions/", body(note="Updated."), format="json")
    assert again.status_code == 200
    row = Exclusion.objects.get()
    assert row.note == "Updated." and row.recorded_by.startswith("api-key:")


def test_a_customer_key_may_not_record_an_exclusion(shop: Any, api: Any) -> None:
    customer = Customer.objects.get(key="shop-co")
    response = api("write", customer=customer).post("/api/v1/exclusions/", body(), format="json")
    assert response.status_code == 403
    assert "exclusions" in response.json()["error"]
    assert not Exclusion.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"note": ""}, "note", "why"),
        ({"note": None}, "note", "required"),
        ({"reason": "bad luck"}, "reason", "force_majeure"),
        ({"end": "2026-03-01T01:35:00Z"}, "end", "after start"),
        ({"start": "2026-03-01 01:35"}, "start", "ISO 8601"),
        ({"service": "nope"}, "service", "unknown service"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"external_id": "a\nb"}, "external_id", ""),
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(
    shop: Any, api: Any, change: dict[str, Any], field: str, words: str
) -> None:
    response = api("write").post("/api/v1/exclusions/", body(**change), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert words in response.json()["error"]
    assert not Exclusion.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(shop: Any, api: Any) -> None:
    response = api("write").post("/api/v1/exclusions/", [body()], format="json")
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_the_agreement_page_lists_the_exclusion_with_its_reason(
    client: Any, customer_user: Any, outsider: Any
) -> None:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    span = {
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
    }
    exclusion_record(data=exclusion_input(body(service="hosted-api", **span)), actor="staff:ann")
    client.force_login(customer_user)
    page = client.get("/agreements/acme-hosting/").content.decode()
    assert 'id="exclusions"' in page
    assert "A fault of the monitoring" in page and "lost its uplink" in page
    assert "recorded by staff:ann" in page
    client.force_login(outsider)
    assert client.get("/agreements/acme-hosting/").status_code == 404


def test_staff_record_an_exclusion_in_admin_with_a_required_note(
    client: Any, admin_user: Any, agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(admin_user)
    service = Service.objects.get(key="hosted-api")
    form = {
        "service": service.pk,
        "external_id": "EX-9",
        "start_0": "2026-03-02",
        "start_1": "10:00:00",
        "end_0": "2026-03-02",
        "end_1": "11:00:00",
        "reason": "force_majeure",
        "note": "",
    }
    refused = client.post("/admin/metrics/exclusion/add/", form)
    assert refused.status_code == 200 and not Exclusion.objects.exists()
    form["note"] = "Flooded data centre."
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post("/admin/metrics/exclusion/add/", form)
    assert saved.status_code == 302
    row = Exclusion.objects.get()
    assert row.recorded_by == f"staff:{admin_user.get_username()}"


def test_admin_errors_read_in_words_not_constraint_names(client: Any, admin_user: Any) -> None:
    from agreements.services import agreement_import as load

    load(data=simple_doc(), actor="test")
    client.force_login(admin_user)
    form = {
        "service": Service.objects.get(key="web").pk,
        "external_id": "EX-1",
        "start_0": "2026-03-02",
        "start_1": "11:00:00",
        "end_0": "2026-03-02",
        "end_1": "10:00:00",
        "reason": "other",
        "note": "Backwards.",
    }
    page = client.post("/admin/metrics/exclusion/add/", form).content.decode()
    assert "The end must be after the start." in page
    assert "metrics_exclusion_end_after_start" not in page
    assert not Exclusion.objects.exists()
