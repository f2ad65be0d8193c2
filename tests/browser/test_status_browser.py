"""The public status page in real headless Chromium: no sign-in, a service goes from
operational to outage and back, a visitor subscribes, confirms and gets the emails."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from agreements.models import Service

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def status_mail() -> list[Any]:
    return [m for m in mail.outbox if m.subject.startswith("[Status]")]


def post_incident(api: Any, **over: Any) -> None:
    record = {
        "service": "hosted-api",
        "external_id": "INC-B1",
        "title": "API errors",
        "impact": "outage",
        "started_at": (timezone.now() - dt.timedelta(minutes=2)).isoformat(),
        "resolved_at": None,
        **over,
    }
    response = api("ingest").post(
        "/api/v1/incidents/", json.dumps([record]), content_type="application/json"
    )
    assert response.status_code == 201, response.content


def test_visitor_follows_an_outage_and_gets_the_emails(
    live_server: Any, page: Any, agreement: Any, api: Any
) -> None:
    Service.objects.filter(key="hosted-api").update(name="Hosted API", public=True)
    url = live_server.url
    page.goto(f"{url}/status/")
    assert page.get_by_role("heading", level=1).inner_text() == "All systems operational"
    assert "backbone" not in page.content()

    # Subscribe and confirm.
    page.get_by_role("link", name="Subscribe to updates").click()
    page.get_by_label("Email address").fill("visitor@example.com")
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    (confirmation,) = status_mail()
    link = re.search(r"https?://\S+/status/subscribe/confirm/\S+/", confirmation.body)
    assert link
    page.goto(url + "/" + link[0].split("/", 3)[3])
    page.get_by_role("button", name=re.compile("^Confirm")).click()
    assert page.get_by_role("heading", name="Subscription confirmed").is_visible()

    # An outage is posted: the page says so, the subscriber is told.
    post_incident(api)
    page.goto(f"{url}/status/")
    assert page.get_by_role("heading", level=1).inner_text() == "Outage: Hosted API"
    assert page.locator("#service-hosted-api .state").inner_text() == "Outage"
    # The day's bar tells its figure on focus.
    today = page.locator("#service-hosted-api .bars li").last
    today.focus()
    tip = today.locator("span")
    assert tip.is_visible()
    assert "API errors" in tip.inner_text()

    post_incident(api, resolved_at=timezone.now().isoformat())
    page.goto(f"{url}/status/")
    assert page.get_by_role("heading", level=1).inner_text() == "All systems operational"
    subjects = [m.subject for m in status_mail()]
    assert subjects[1:] == [
        "[Status] Outage: Hosted API — API errors",
        "[Status] Resolved: Hosted API — API errors",
    ]
    assert all("List-Unsubscribe" in m.extra_headers for m in status_mail())

    # The feed is Atom and the badges render.
    feed = page.request.get(f"{url}/status/feed.atom")
    assert ET.fromstring(feed.body()).tag == "{http://www.w3.org/2005/Atom}feed"
    page.goto(f"{url}/status/badge/hosted-api.svg?uptime=24h")
    assert page.locator("svg").is_visible()
    assert "uptime 24h" in page.content()
