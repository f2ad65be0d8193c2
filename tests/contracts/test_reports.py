"""The monthly report: at each close, the statement PDF to the document's ``reports``
recipients and to members who opted in, the figures in the body; once per revision; a
resend in admin."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail

from agreements.models import Agreement
from agreements.services import agreement_import
from contracts.models import ReportDelivery
from contracts.reports import report_send
from credits.closing import close_due_periods
from credits.models import Period
from notifications.models import Preference
from tests.credits.test_compliance import MARCH, minutes, simple_doc

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def shop(django_user_model: Any) -> Agreement:
    from agreements.models import Membership, Service

    doc = copy.deepcopy(simple_doc(reports=[{"to": "finance@shop.example"}]))
    with time_machine.travel(MARCH, tick=False):
        agreement = agreement_import(data=doc).agreement
    web = Service.objects.get(key="web")
    minutes(web, MARCH, 95, True)
    minutes(web, MARCH + dt.timedelta(minutes=95), 5, False)
    opted = django_user_model.objects.create_user("cfo", email="cfo@shop.example")
    quiet = django_user_model.objects.create_user("ops", email="ops@shop.example")
    for user in (opted, quiet):
        Membership.objects.create(user=user, customer=agreement.customer, role="viewer")
    Preference.objects.create(agreement=agreement, user=opted, events=["report.monthly"])
    Preference.objects.create(agreement=agreement, user=quiet, events=["period.closed"])
    return agreement


def test_closing_sends_the_statement_once_to_the_recipients(
    shop: Agreement, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        close_due_periods(now=dt.datetime(2026, 4, 2, 0, 1, tzinfo=UTC))
    (message,) = mail.outbox
    assert message.to == ["finance@shop.example", "cfo@shop.example"]
    assert "statement 2026-03" in message.subject
    assert "- up: 95.000% against 99% (breached); credit 10%" in message.body
    assert "Credit for the period: 100.00 EUR." in message.body
    ((name, content, kind),) = message.attachments
    assert name == "shop-2026-03.pdf" and kind == "application/pdf"
    assert content.startswith(b"%PDF")
    period = Period.objects.get(period="2026-03")
    assert report_send(period_id=period.pk) is None, "once per revision"
    assert len(mail.outbox) == 1
    assert ReportDelivery.objects.get().sent_by == "close"


def test_staff_resend_from_admin(
    shop: Agreement, client: Any, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        close_due_periods(now=dt.datetime(2026, 4, 2, 0, 1, tzinfo=UTC))
    delivery = ReportDelivery.objects.get()
    client.force_login(admin_user)
    response = client.post(
        "/admin/contracts/reportdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert ReportDelivery.objects.count() == 2
    assert ReportDelivery.objects.first().sent_by == f"staff:{admin_user.get_username()}"


def test_an_open_period_sends_nothing(shop: Agreement) -> None:
    from credits.recompute import recompute_agreement

    recompute_agreement(agreement_id=shop.pk, now=MARCH + dt.timedelta(hours=2))
    period = Period.objects.get()
    assert report_send(period_id=period.pk) is None
    assert mail.outbox == []
