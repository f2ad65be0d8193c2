"""The demo's end-to-end checkout: one objective over two suppliers' services, with the
bad time attributed to each (rule 18), a credit in its first month and a bonus after."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from credits.models import Evaluation, LedgerEntry, Period

pytestmark = pytest.mark.django_db


def test_demo_checkout_attributes_and_earns_a_bonus() -> None:
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    closed = list(
        Period.objects.filter(agreement__key="globex-checkout", state="closed").order_by("period")
    )
    assert len(closed) == 3
    first = Evaluation.objects.get(period=closed[0], revision=closed[0].revision)
    assert first.bad == 85 * 60  # 10 and 20 minutes overlapping by 5, then 60
    shares: dict[str, Any] = {a["service"]: a for a in first.attribution}
    assert shares["web-frontend"]["bad"] == "600"
    assert shares["payments-gateway"]["bad"] == "4800"
    assert shares["payments-gateway"]["provider"] == "PayCo"
    assert closed[0].credit_amount == Decimal("200.00")
    assert closed[1].bonus_amount == Decimal("80.00")
    bonuses = LedgerEntry.objects.filter(agreement__key="globex-checkout", kind="bonus")
    assert sorted(e.amount for e in bonuses) == [Decimal("-80.00"), Decimal("-80.00")]


def test_demo_checkout_daily_bars_give_the_combined_result_per_day() -> None:
    from django.utils import timezone

    from agreements.models import Agreement
    from portal.pages.agreement import AgreementPage

    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    page = AgreementPage(Agreement.objects.get(key="globex-checkout"), timezone.now())
    (view,) = page.objectives
    bad = {bar.day: bar for bar in view.days if bar.achieved is not None and bar.achieved < 100}
    # The cache flush of the frontend (3 minutes) is the history's one outage day, and
    # shows the combined figure, with the incident's title.
    daily = page.daily(view.terms)
    assert len(bad) == 1
    ((day, bar),) = bad.items()
    assert daily[day][1] == Decimal(180)
    assert "3 min of outage" in bar.label
    assert any("Frontend cache flush" in title for title in bar.incidents)
    assert view.bars
