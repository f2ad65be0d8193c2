"""Rule 13: no period closes before its grace time has passed on the real clock, and
staff close periods from admin after a confirmation naming the credit it enters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from credits.closing import CloseError, close_due_periods, close_period
from credits.models import LedgerEntry, Period
from credits.recompute import recompute_agreement
from tests.credits.test_ledger import AFTER, MARCH, load, shop

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _open_march() -> Period:
    agreement = shop()
    load(ok=95, failed=5)
    with time_machine.travel(MARCH + dt.timedelta(days=20), tick=False):
        recompute_agreement(agreement_id=agreement.pk)
    return Period.objects.get(period="2026-03")


def test_closing_with_a_now_later_than_the_real_clock_is_refused() -> None:
    _open_march()
    with (
        time_machine.travel(MARCH + dt.timedelta(days=20), tick=False),
        pytest.raises(CloseError, match="later than the current time"),
    ):
        close_due_periods(now=AFTER)
    assert not Period.objects.filter(state=Period.State.CLOSED).exists()
    assert not LedgerEntry.objects.exists()


def test_a_period_in_its_grace_time_cannot_be_closed_and_says_when_it_can() -> None:
    period = _open_march()
    in_grace = dt.datetime(2026, 4, 1, 12, tzinfo=UTC)  # grace ends 2026-04-02 00:00 UTC
    with time_machine.travel(in_grace, tick=False):
        with pytest.raises(CloseError, match="can close from 2026-04-02 00:00 UTC"):
            close_period(period_id=period.pk)
        assert close_due_periods() == []
    assert not LedgerEntry.objects.exists()


def test_admin_close_action_confirms_the_credit_then_closes(admin_client: Any) -> None:
    period = _open_march()
    url = "/admin/credits/period/"
    with time_machine.travel(AFTER, tick=False):
        ask = admin_client.post(url, {"action": "close", "_selected_action": [period.pk]})
        assert ask.status_code == 200
        page = ask.content.decode()
        # 95 of 100 minutes up: below 99 → 10 %, below 90 no: 100.00 EUR of 1,000.00.
        assert "100.00 EUR" in page
        assert not LedgerEntry.objects.exists()  # nothing until confirmed
        done = admin_client.post(
            url, {"action": "close", "_selected_action": [period.pk], "confirm": "yes"}
        )
        assert done.status_code == 302
    period.refresh_from_db()
    assert period.is_closed
    assert LedgerEntry.objects.get().amount == Decimal("100.00")


def test_admin_close_action_leaves_periods_in_their_grace_time(admin_client: Any) -> None:
    period = _open_march()
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=UTC), tick=False):
        ask = admin_client.post(
            "/admin/credits/period/", {"action": "close", "_selected_action": [period.pk]}
        )
        assert "can close from 2026-04-02 00:00 UTC" in ask.content.decode()
        admin_client.post(
            "/admin/credits/period/",
            {"action": "close", "_selected_action": [period.pk], "confirm": "yes"},
        )
    period.refresh_from_db()
    assert not period.is_closed
