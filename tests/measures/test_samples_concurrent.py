"""Batches of samples sent at once that share identities (retries, two collectors): each
sample is stored once and the minute summaries equal a recount of the raw rows."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections  # noqa: F401  (skipif reads connection)
from django.db.models import Count

from agreements.models import Service
from metrics.models import Sample, SampleMinute
from metrics.services import samples_ingest

SENDERS = 4
START = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once_store_each_sample_once_with_exact_summaries() -> None:
    sid = Service.objects.create(key="wan").pk
    # Sender i sends seconds [100 i, 100 i + 300): each second is sent by up to three.
    batches = [
        [
            (sid, "throughput_mbps", START + dt.timedelta(seconds=s), Decimal(s).scaleb(-3))
            for s in range(100 * i, 100 * i + 300)
        ]
        for i in range(SENDERS)
    ]
    barrier = threading.Barrier(SENDERS)
    errors: list[BaseException] = []
    accepted: list[int] = []

    def sender(rows: list[tuple[object, ...]]) -> None:
        try:
            barrier.wait()
            accepted.append(samples_ingest(rows=rows, closed={}).accepted)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    distinct = 100 * (SENDERS - 1) + 300
    assert sum(accepted) == Sample.objects.count() == distinct
    recount: dict[dt.datetime, list[int]] = {}
    for ts, value in Sample.objects.values_list("ts", "value"):
        counts = recount.setdefault(ts.replace(second=0), [0, 0])
        counts[0] += 1
        counts[1] += int(value.scaleb(6))
    assert {m.minute: [m.count, m.total_micros] for m in SampleMinute.objects.all()} == recount
    assert not Sample.objects.values("metric", "ts").annotate(n=Count("id")).filter(n__gt=1)
