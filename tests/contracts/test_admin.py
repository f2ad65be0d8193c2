"""Staff give notice and propose amendments in admin, through the same services."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine

from agreements.models import Agreement
from agreements.services import agreement_export
from contracts.models import Amendment, Notice

pytestmark = pytest.mark.django_db
JUNE = dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC)


def test_staff_give_notice_in_admin(client: Any, admin_user: Any, agreement: Agreement) -> None:
    client.force_login(admin_user)
    with time_machine.travel(JUNE, tick=False):
        response = client.post(
            "/admin/contracts/notice/add/",
            {"agreement": agreement.pk, "by": "provider", "reason": "Service retired"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    notice = Notice.objects.get()
    assert notice.given_by == f"staff:{admin_user.get_username()}"
    agreement.refresh_from_db()
    assert agreement.effective_to == dt.date(2026, 9, 8)
    again = client.post(
        "/admin/contracts/notice/add/", {"agreement": agreement.pk, "by": "provider"}
    )
    assert again.status_code == 200 and "already given" in again.content.decode()


def test_staff_propose_an_amendment_in_admin_and_errors_read_in_words(
    client: Any, admin_user: Any, agreement: Agreement
) -> None:
    client.force_login(admin_user)
    document = agreement_export(agreement)
    document["objectives"][0]["target"] = 150
    form = {
        "agreement": agreement.pk,
        "document": json.dumps(document),
        "effective_period": "2026-08",
        "note": "Lower target",
    }
    with time_machine.travel(JUNE, tick=False):
        refused = client.post("/admin/contracts/amendment/add/", form)
        assert refused.status_code == 200
        assert "document.objectives[0].target" in refused.content.decode()
        assert not Amendment.objects.exists()
        document["objectives"][0]["target"] = 99.5
        form["document"] = json.dumps(document)
        saved = client.post("/admin/contracts/amendment/add/", form)
    assert saved.status_code == 302
    amendment = Amendment.objects.get()
    assert amendment.status == "proposed" and amendment.proposed_by.startswith("staff:")
    assert agreement.versions.count() == 1
