"""axe-core (the rules of WCAG 2.x A and AA, and best practices) finds nothing on the
pages people read: the public status page and its form, the sign-in page, and the
signed-in dashboard and agreement pages, with the demo data ``make run`` shows."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from tests.browser.test_portal_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def violations(page: Any) -> list[str]:
    """Each violation as ``rule: the first offending element``, so a failure says where."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:160]}"
        for v in results.response["violations"]
    ]


def test_pages_people_read(live_server: Any, chromium: Any) -> None:
    # One demo load for every page: seeding three months of measurements is the slow part.
    call_command("seed_demo", quiet_logins=True, stdout=StringIO())
    found: dict[str, list[str]] = {}
    for user, paths in [
        (None, ["/status/", "/status/subscribe/", "/accounts/login/"]),
        ("acme-manager", ["/", "/agreements/acme-hosting/"]),
        ("admin", ["/", "/agreements/marketing-sales-leads/"]),
    ]:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        if user is not None:
            sign_in(page, live_server.url, user, "demo-portal-2026")
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            found[f"{user or 'visitor'} {path}"] = violations(page)
        context.close()
    assert found == {where: [] for where in found}
