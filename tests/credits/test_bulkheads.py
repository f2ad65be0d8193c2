"""Bulkheads: one agreement's failure never stops another's recompute or closing; the
failure is kept for staff with the agreement named, and the next pass retries it."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from agreements.services import agreement_import
from credits import closing, evaluation
from credits.closing import close_due_periods
from credits.models import Evaluation, Failure, Period
from credits.recompute import recompute_agreements
from tests.credits.test_ledger import AFTER, MARCH, doc, load

pytestmark = pytest.mark.django_db


def _two_agreements() -> tuple[Any, Any]:
    import time_machine

    with time_machine.travel(MARCH, tick=False):
        good = agreement_import(data=doc()).agreement
        broken = agreement_import(
            data=doc(agreement="broken", customer={"key": "other", "name": "Other"})
        ).agreement
    load(ok=100, failed=0)
    return good, broken


@pytest.fixture
def break_agreement(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make every evaluation of agreement ``broken`` raise, as corrupt data would."""
    real = evaluation._Batch._period_result

    def failing(self: Any, n: int, p: Any) -> Any:
        if p.job.agreement.key == "broken":
            raise ArithmeticError("numeric field overflow")
        return real(self, n, p)

    monkeypatch.setattr(evaluation._Batch, "_period_result", failing)
    return monkeypatch


def test_one_failing_agreement_does_not_stop_the_batch(break_agreement: Any) -> None:
    good, broken = _two_agreements()
    now = MARCH + dt.timedelta(days=2)
    summaries = recompute_agreements(agreement_ids=[good.pk, broken.pk], now=now)
    by_key = {s.agreement: s for s in summaries}
    assert by_key["shop"].evaluated == ["2026-03"] and not by_key["shop"].failed
    assert "numeric field overflow" in by_key["broken"].failed
    assert Evaluation.objects.filter(period__agreement=good).exists()
    failure = Failure.objects.get()
    assert (failure.agreement, failure.stage, failure.resolved_at) == (broken, "recompute", None)
    # Failing again updates the same record; succeeding resolves it.
    recompute_agreements(agreement_ids=[good.pk, broken.pk], now=now)
    assert Failure.objects.get().attempts == 2
    break_agreement.undo()
    recompute_agreements(agreement_ids=[good.pk, broken.pk], now=now)
    assert Failure.objects.get().resolved_at == now


def test_one_period_that_cannot_close_does_not_keep_the_others_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _good, broken = _two_agreements()
    real = closing.close_period

    def failing(*, period_id: int, now: Any = None) -> Any:
        if Period.objects.get(pk=period_id).agreement_id == broken.pk:
            raise ArithmeticError("numeric field overflow")
        return real(period_id=period_id, now=now)

    monkeypatch.setattr(closing, "close_period", failing)
    closed = close_due_periods(now=AFTER)
    assert [p.agreement.key for p in closed] == ["shop"]
    failure = Failure.objects.get()
    assert (failure.agreement, failure.stage, failure.period) == (broken, "close", "2026-03")
    out = io.StringIO()
    with pytest.raises(CommandError, match="broken 2026-03"):
        call_command("close_periods", "--now", AFTER.isoformat(), stdout=out)


def test_failures_are_listed_in_admin_with_the_agreement(
    admin_client: Any, break_agreement: Any
) -> None:
    good, broken = _two_agreements()
    recompute_agreements(agreement_ids=[good.pk, broken.pk], now=MARCH + dt.timedelta(days=2))
    page = admin_client.get("/admin/credits/failure/").content.decode()
    assert "broken" in page and "numeric field overflow" in page
