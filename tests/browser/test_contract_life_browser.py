"""The contract's life in real headless Chromium: an exclusion changes the figure and the
statement with its reason shown; notice after a confirmation stating the end date; an
amendment proposed, seen side by side, accepted, and in force from its period."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from agreements.models import Agreement, ApiKey
from agreements.services import agreement_export
from tests.browser.test_portal_browser import portal, sign_in  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def provider() -> APIClient:
    client = APIClient()
    _, secret = ApiKey.generate(name="provider-staff", scopes=["write", "read"], customer=None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_an_exclusion_changes_the_figure_and_the_statement_with_its_reason(
    portal: Any,  # noqa: F811
    page: Any,
) -> None:
    api = provider()
    recorded = api.post(
        "/api/v1/exclusions/",
        {
            "service": "hosted-api",
            "external_id": "MON-17",
            "start": "2026-02-10T02:00:00Z",
            "end": "2026-02-10T03:00:00Z",
            "reason": "monitoring_fault",
            "note": "The probe site lost power; the API answered throughout.",
        },
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    restated = api.post(
        "/api/v1/agreements/acme-hosting/periods/2026-02/restate/",
        {"reason": "monitoring fault excluded"},
        format="json",
    )
    assert restated.status_code == 200, restated.content

    sign_in(page, portal.url, "acme-manager", "pw-acme-manager-1")
    page.goto(f"{portal.url}/agreements/acme-hosting/")
    exclusions = page.locator("#exclusions").inner_text()
    assert "A fault of the monitoring" in exclusions and "lost power" in exclusions
    with page.expect_download() as download:
        page.locator('a[href$="/statements/2026-02.csv"]').first.click()
    text = Path(download.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    lines = [r for r in rows if r[:2] == ["evidence", "exclusion"]]
    # Listed beside each objective of the service whose covered time it changed.
    assert {r[2] for r in lines} == {"api-availability", "api-latency"}
    assert all("a fault of the monitoring" in r[8] and "lost power" in r[8] for r in lines)
    objective = next(r for r in rows if r[:2] == ["objective", "api-availability"])
    assert objective[4].startswith("100") and objective[7] == "0", objective


def test_a_manager_gives_notice_after_seeing_the_end_date(
    portal: Any,  # noqa: F811
    page: Any,
) -> None:
    sign_in(page, portal.url, "acme-manager", "pw-acme-manager-1")
    page.goto(f"{portal.url}/agreements/acme-hosting/")
    page.get_by_role("link", name="Give notice…").click()
    confirmation = page.locator("#notice-confirmation").inner_text()
    assert "ends on 2026-06-08" in confirmation  # 90 days after 2026-03-10, Berlin
    page.get_by_label("Reason (optional)").fill("Moving in-house")
    page.get_by_role("button", name="Give notice: end on 2026-06-08").click()
    page.wait_for_url(f"{portal.url}/agreements/acme-hosting/#contract")
    assert "the agreement ends on 2026-06-08" in page.locator(".messages").inner_text()
    assert "Under notice" in page.locator("#contract").inner_text()
    agreement = Agreement.objects.get(key="acme-hosting")
    assert str(agreement.effective_to) == "2026-06-08"


def test_propose_accept_and_the_next_period_uses_the_new_terms(
    portal: Any,  # noqa: F811
    page: Any,
) -> None:
    agreement = Agreement.objects.get(key="acme-hosting")
    document = json.loads(json.dumps(agreement_export(agreement), default=str))
    document["monthly_fee"] = "11000.00"
    proposed = provider().post(
        "/api/v1/agreements/acme-hosting/amendments/",
        {"document": document, "effective_period": "2026-04", "note": "Lower fee from April"},
        format="json",
    )
    assert proposed.status_code == 201, proposed.content

    sign_in(page, portal.url, "acme-manager", "pw-acme-manager-1")
    page.goto(f"{portal.url}/agreements/acme-hosting/")
    page.get_by_role("link", name="New terms from 2026-04").click()
    changes = page.locator("#amendment-changes").inner_text()
    assert "12,000.00 EUR" in changes and "11,000.00 EUR" in changes
    page.get_by_role("button", name="Accept: apply from 2026-04").click()
    page.wait_for_url(f"{portal.url}/agreements/acme-hosting/#contract")
    assert "The new terms apply from 2026-04" in page.locator(".messages").inner_text()
    assert "accepted by acme-manager" in page.locator("#contract").inner_text()
    march, april = agreement.version_for("2026-03"), agreement.version_for("2026-04")
    assert march is not None and march.terms["monthly_fee"] == "12000.00"
    assert april is not None and april.terms["monthly_fee"] == "11000.00"
