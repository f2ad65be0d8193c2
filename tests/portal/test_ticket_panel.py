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


@pytest.mark.usefixtures("tickets")
def test_a_panel_drawn_before_an_admin_edit_commits_is_not_kept(
    client: Any, customer_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """An edit outside a batch stamps the customer's tickets when it is saved, before its
    transaction commits: a page drawn in between, from the tickets as they were, must not
    be kept under the new stamp for the rest of its minute."""
    from django.core.cache import cache
    from django.db import transaction

    from credits.tickets import tickets_stamp_key
    from metrics.models import Ticket

    client.force_login(customer_user)
    ticket = Ticket.objects.get(external_id="T-1")
    with time_machine.travel(NOW, tick=False):
        client.get(PATH)
        panel_keys = [k for k in _cache_keys(cache) if "ticket-panel:" in k]
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            ticket.external_id = "T-1-RENAMED"
            ticket.save()
            # Another web process draws the page now, from the committed (old) tickets,
            # and keeps it under the stamp the save just set.
            stamp = cache.get(tickets_stamp_key(ticket.customer_id))
            for key in panel_keys:
                cache.set(key, (stamp, '<section id="tickets">STALE</section>'), 60)
        page = client.get(PATH).content.decode()
    assert "STALE" not in page
    assert "T-1-RENAMED" in page


def _cache_keys(cache: Any) -> list[str]:
    import datetime as dt

    from agreements.models import Agreement
    from portal.pages.scoping import cache_version, with_cache_stamp

    agreement = with_cache_stamp(Agreement.objects.filter(key="acme-hosting")).get()
    minute = NOW.astimezone(dt.UTC).replace(second=0, microsecond=0).isoformat()
    return [f"ticket-panel:{cache_version(agreement)}:{minute}"]
