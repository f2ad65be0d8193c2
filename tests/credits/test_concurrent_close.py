"""Five closers at once (beat, a command, a retry...): no deadlock, each credit once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections  # noqa: F401  (skipif reads connection)

from credits.closing import close_due_periods
from credits.models import LedgerEntry, Period
from credits.recompute import recompute_agreement
from tests.credits.test_ledger import AFTER, doc, load, shop

CLOSERS = 5
AGREEMENTS = 6


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_five_concurrent_closers_neither_deadlock_nor_enter_twice() -> None:
    # Agreements sharing their services (the watermarks of both are advanced at close);
    # half already have period rows, half get them from the closers themselves.
    agreements = []
    for i in range(AGREEMENTS):
        objectives = doc()["objectives"]
        if i % 2:
            objectives = list(reversed(objectives))
        agreements.append(
            shop(
                agreement=f"shop-{i}",
                customer={"key": f"shop-co-{i}", "name": f"Shop Co {i}"},
                objectives=objectives,
                effective_from="2026-01-01",
            )
        )
    for month in (1, 2, 3):
        start = dt.datetime(2026, month, 1, tzinfo=dt.UTC)
        load(ok=95, failed=5, start=start)
        load(ok=95, failed=5, service="web2", start=start)
    for agreement in agreements[::2]:
        recompute_agreement(agreement_id=agreement.pk, now=AFTER - dt.timedelta(days=1))

    barrier = threading.Barrier(CLOSERS)
    errors: list[BaseException] = []

    def closer() -> None:
        try:
            barrier.wait()
            close_due_periods(now=AFTER)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=closer) for _ in range(CLOSERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    closed: Any = Period.objects.filter(state="closed")
    assert closed.count() == 3 * AGREEMENTS
    credits = LedgerEntry.objects.filter(kind="credit")
    # Each closed period's credit, once.
    assert sorted(credits.values_list("period_id", flat=True)) == sorted(
        closed.values_list("id", flat=True)
    )
