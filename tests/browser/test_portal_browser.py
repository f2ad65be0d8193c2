"""The portal in real headless Chromium: sign in, read every status, the history tooltip,
claim a credit, download a statement, and never reach another customer's agreement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.portal.test_portal_pages import NOW, populate

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def portal(
    live_server: Any, settings: Any, agreement: Any, other_agreement: Any, manager_user: Any
) -> Any:
    # Time runs from the frozen date; cookies without an expiry date do not depend on
    # the browser's own clock agreeing with it.
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    settings.CSRF_COOKIE_AGE = None
    with time_machine.travel(NOW, tick=True):
        populate(agreement)
        yield live_server


def sign_in(page: Any, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def test_manager_journey(portal: Any, page: Any) -> None:
    url = portal.url
    sign_in(page, url, "acme-manager", "pw-acme-manager-1")
    card = page.locator(".agreement-card").first
    assert "at risk" in card.inner_text()

    page.get_by_role("link", name="Acme managed hosting").first.click()
    page.wait_for_url(f"{url}/agreements/acme-hosting/")
    objectives = page.locator("#objectives").inner_text()
    for word in ("met", "at risk", "no data"):
        assert word in objectives
    assert "breached" in page.locator("#history").inner_text()

    # The history tooltip: focus a bar with the keyboard, then hover another.
    bar = page.locator('.bar[data-day="2026-02-10"]').first
    bar.focus()
    tooltip = page.locator(".bar-tooltip").first
    assert tooltip.is_visible()
    assert "83.333% available" in tooltip.inner_text()
    assert "Hosted API unreachable" in tooltip.inner_text()
    page.locator('.bar[data-day="2026-03-10"]').first.hover()
    assert "Slow responses" in tooltip.inner_text()

    # Claim February's credit.
    page.get_by_role("button", name="Claim 6,000.00 EUR").click()
    page.wait_for_url(f"{url}/agreements/acme-hosting/#credits")
    assert "Claimed 6,000.00 EUR for 2026-02" in page.locator(".messages").inner_text()
    assert "Claimed, awaiting review" in page.locator("#credits").inner_text()
    assert page.get_by_role("button", name="Claim 6,000.00 EUR").count() == 0

    # Download the statement of the closed month.
    with page.expect_download() as download:
        page.locator('a[href$="/statements/2026-02.pdf"]').click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")

    # Another customer's agreement does not exist for this user.
    response = page.goto(f"{url}/agreements/globex-hosting/")
    assert response.status == 404
    assert "Not found" in page.locator("h1").inner_text()


def test_viewer_has_no_claim_button_and_phone_width_fits(
    portal: Any, page: Any, customer_user: Any
) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, portal.url, "acme-viewer", "pw-acme-viewer-1")
    page.goto(f"{portal.url}/agreements/acme-hosting/")
    assert page.get_by_role("button", name="Claim 6,000.00 EUR").count() == 0
    assert "a manager can claim" in page.locator("#credits").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    # The skip link is the first stop of the keyboard.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_wrong_password_shows_a_clear_message(portal: Any, page: Any) -> None:
    page.goto(f"{portal.url}/accounts/login/")
    page.get_by_label("Username").fill("acme-manager")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert "didn't match" in page.get_by_role("alert").inner_text()
    assert dt.datetime.now(dt.UTC) >= NOW


def test_screenshots_of_the_demo(
    live_server: Any, page: Any, settings: Any, tmp_path: Path
) -> None:
    """Screenshots of the dashboard and the agreement page, from the demo data ``make run``
    shows. Written under a temporary folder, so a test run leaves the checkout as it was;
    ``SCREENSHOTS=docs`` writes them over docs/dashboard.png and docs/agreement.png (the
    README's pictures)."""
    import os
    from io import StringIO

    from django.core.management import call_command

    into = DOCS if os.environ.get("SCREENSHOTS") == "docs" else tmp_path
    call_command("seed_demo", quiet_logins=True, stdout=StringIO())
    sign_in(page, live_server.url, "acme-manager", "demo-portal-2026")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.screenshot(path=str(into / "dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/agreements/acme-hosting/")
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(into / "agreement.png"))
    assert (into / "dashboard.png").stat().st_size > 10_000
    assert (into / "agreement.png").stat().st_size > 10_000
