"""The agreement page's live ticket panel: due times, time left in words, paused and
breached tickets, within the page's query budget."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine

from agreements.services import agreement_import
from tests.credits.test_ticket_clocks import NOW, tickets  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
PATH = "/agreements/acme-hosting/"


@pytest.mark.usefixtures("tickets")
def test_the_panel_shows_due_times_time_left_and_breaches(
    client: Any, customer_user: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(customer_user)
    with time_machine.travel(NOW, tick=False):
        client.get(PATH)  # fills the cached sections
        # (two of them: the live contract section's notice and amendments)
        with django_assert_max_num_queries(9):
            page = client.get(PATH).content.decode()

    panel = page[page.index('id="tickets"') :]
    assert "current priority" in panel
    assert "2026-11-23 10:15" in panel  # T-1, Berlin time
    assert "15 min of business hours left" in panel
    assert "30 min of business hours left" in panel
    assert "paused" in panel[panel.index("T-3") :]
    assert "15 h of business hours over" in panel  # T-4
    breached = panel[panel.index("Breached in 2026-11") :]
    assert "T-4" in breached and "T-1" not in breached
    assert panel.index("T-4") < panel.index("T-1") < panel.index("T-2") < panel.index("T-3")


def test_an_agreement_without_ticket_objectives_has_no_panel(
    client: Any, customer_user: Any, agreement: Any, document: dict[str, Any]
) -> None:
    document["objectives"] = [
        o
        for o in document["objectives"]
        if o["indicator"] not in ("response_time", "resolution_time")
    ]
    document["agreement"] = "acme-plain"
    agreement_import(data=document, actor="test")
    client.force_login(customer_user)

    with time_machine.travel(NOW, tick=False):
        plain = client.get("/agreements/acme-plain/").content.decode()
        with_tickets = client.get(PATH).content.decode()

    assert 'id="objectives"' in plain
    assert 'id="tickets"' not in plain
    assert 'id="tickets"' in with_tickets


@pytest.mark.usefixtures("tickets")
def test_the_panel_is_kept_for_its_minute_and_redrawn_when_a_ticket_changes(
    api: Any, client: Any, customer_user: Any, django_assert_max_num_queries: Any
) -> None:
    import datetime as dt
    import json

    client.force_login(customer_user)
    with time_machine.travel(NOW, tick=False):
        first = client.get(PATH).content.decode()
        # Kept: the same minute reads no ticket.
        with django_assert_max_num_queries(8):
            again = client.get(PATH).content.decode()
        panel = first[
            first.index('id="tickets"') : first.index("</section>", first.index('id="tickets"'))
        ]
        assert panel in again
        assert "T-9" not in first
        # A new ticket shows at once, within the same minute.
        sent = api("ingest").post(
            "/api/v1/tickets/",
            json.dumps(
                [
                    {
                        "customer": "acme",
                        "external_id": "T-9",
                        "priority": "P1",
                        "opened_at": (NOW - dt.timedelta(minutes=5)).isoformat(),
                        "first_response_at": None,
                        "resolved_at": None,
                    }
                ]
            ),
            content_type="application/json",
        )
        assert sent.status_code == 201, sent.content
        assert "T-9" in client.get(PATH).content.decode()
    # The next minute, time left reads one minute less.
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        later = client.get(PATH).content.decode()
    assert "15 min of business hours left" not in later
    assert "14 min of business hours left" in later
