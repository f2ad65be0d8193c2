"""The demo's internal marketing -> sales agreement runs on the ticket clock: leads shown
to Sales wait for a first follow-up, and leads Marketing parks stop the clock."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from metrics.models import Ticket

pytestmark = pytest.mark.django_db


def test_parked_leads_pause_the_follow_up_clock(api: Any) -> None:
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())

    leads = Ticket.objects.filter(customer__key="internal-marketing")
    assert sum(1 for t in leads if t.paused) >= 10
    body = api("read").get("/api/v1/agreements/marketing-sales-leads/tickets/").json()
    by_id = {t["external_id"]: t for t in body["tickets"]}
    assert by_id["LEAD-OPEN-3"]["paused"] is True
    assert by_id["LEAD-OPEN-3"]["due_at"] is None
    assert by_id["LEAD-OPEN-1"]["paused"] is False
    assert by_id["LEAD-OPEN-1"]["objective"] == "lead-first-contact"
    assert body["tickets"][-1]["external_id"] in {
        t["external_id"] for t in body["tickets"] if t["paused"]
    }
