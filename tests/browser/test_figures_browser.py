"""Rule 19 in a real browser: an objective breached at 99.99962% against 99.9999% never
reads "100%" on its agreement page, in its card or in its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements.models import Service
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.recompute import recompute_agreement
from metrics.services import events_ingest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _six_nines(customer_key: str) -> Any:
    with time_machine.travel(dt.datetime(2026, 2, 1, tzinfo=UTC), tick=False):
        agreement = agreement_import(
            data={
                "agreement": "six-nines",
                "customer": {"key": customer_key, "name": "Acme Corp"},
                "name": "Six nines transit",
                "timezone": "UTC",
                "effective_from": "2026-02-01",
                "currency": "EUR",
                "monthly_fee": "1000.00",
                "objectives": [
                    {
                        "key": "delivery",
                        "service": "transit",
                        "indicator": "ratio",
                        "target": "99.9999",
                        "credits": [{"below": "99.9999", "percent": 10}],
                    }
                ],
            }
        ).agreement
    transit = Service.objects.get(key="transit")
    # 38 bad events in ten million: 99.99962%, a breach of 99.9999% (February and March).
    events_ingest(
        rows=[
            (transit.pk, dt.datetime(2026, 2, 10, tzinfo=UTC), 9_999_962, 10_000_000),
            (transit.pk, dt.datetime(2026, 3, 5, tzinfo=UTC), 9_999_962, 10_000_000),
        ],
        closed={},
    )
    close_due_periods(now=dt.datetime(2026, 3, 2, tzinfo=UTC))
    recompute_agreement(agreement_id=agreement.pk, now=NOW)
    return agreement


def test_a_breach_at_99_99962_never_reads_100_percent(
    live_server: Any, settings: Any, page: Any, agreement: Any, manager_user: Any
) -> None:
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    settings.CSRF_COOKIE_AGE = None
    with time_machine.travel(NOW, tick=True):
        _six_nines(agreement.customer.key)
        url = live_server.url
        page.goto(f"{url}/accounts/login/")
        page.get_by_label("Username").fill("acme-manager")
        page.get_by_label("Password").fill("pw-acme-manager-1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/agreements/six-nines/")
        card = page.locator("#objectives").inner_text()
        achieved = page.locator("#objectives dd.big").first.inner_text()
        history = page.locator("#history li", has_text="delivery:").all_inner_texts()
    assert achieved == "99.9996%"
    assert "breached" in card
    assert history and all("99.9996%" in row and "breached" in row for row in history)
    for text in (achieved, *history):
        assert "100%" not in text and "100.0" not in text
