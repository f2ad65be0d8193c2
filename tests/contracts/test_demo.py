"""The demo shows an accepted amendment, an exclusion and an agreement under notice, and
seeding twice adds nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from agreements.models import Agreement
from contracts.models import Amendment, Notice
from metrics.models import Exclusion

pytestmark = pytest.mark.django_db


def test_the_demo_shows_the_contracts_life(client: Any) -> None:
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    amendment = Amendment.objects.get()
    assert amendment.status == "accepted" and amendment.agreement.key == "acme-hosting"
    assert Exclusion.objects.get().reason == "monitoring_fault"
    notice = Notice.objects.get()
    globex = Agreement.objects.get(key="globex-platform")
    assert notice.agreement == globex and globex.effective_to == notice.end_on
    assert client.login(username="acme-manager", password="demo-portal-2026")
    page = client.get("/agreements/acme-hosting/").content.decode()
    assert "Service desk" in page and "A fault of the monitoring" in page
    assert "accepted by acme-manager" in page
    assert client.login(username="globex-manager", password="demo-portal-2026")
    assert "Under notice" in client.get("/agreements/globex-platform/").content.decode()
