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
