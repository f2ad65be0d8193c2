"""Raw data past the retention is pruned, never inside an open period; summaries stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from agreements.models import Service
from metrics import partitions
from metrics.models import ProbeDay, ProbeMinute, ProbeResult
from metrics.services import probes_ingest
from metrics.tasks import ensure_partitions, prune_raw

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime(2027, 6, 15, tzinfo=dt.UTC)


def _load(service: Service) -> None:
    old = [
        (service.pk, "default", dt.datetime(2026, 1, d, tzinfo=dt.UTC), True, 5.0)
        for d in range(1, 4)
    ]
    recent = [(service.pk, "default", dt.datetime(2027, 6, 1, tzinfo=dt.UTC), False, None)]
    probes_ingest(rows=old + recent, closed={})


def test_prune_keeps_open_periods_and_summaries(settings: Any) -> None:
    settings.RAW_RETENTION_DAYS = 400
    service = Service.objects.create(key="svc")
    partitions.ensure_partitions(dt.date(2026, 1, 1), dt.date(2027, 7, 1))
    _load(service)
    # Never closed: nothing may go.
    assert prune_raw(NOW.isoformat())["probes"] == 0
    assert ProbeResult.objects.count() == 4
    Service.objects.filter(pk=service.pk).update(
        closed_until=dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    )
    result = prune_raw(NOW.isoformat())
    assert ProbeResult.objects.count() == 1
    assert ProbeMinute.objects.count() == 4
    assert ProbeDay.objects.count() == 4
    if connection.vendor == "postgresql":
        assert result["partitions_dropped"] >= 1
        assert "metrics_proberesult_p2026_01" not in partitions.existing_partitions().values()


def test_prune_respects_closed_until_before_retention(settings: Any) -> None:
    settings.RAW_RETENTION_DAYS = 400
    service = Service.objects.create(key="svc", closed_until=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    _load(service)
    prune_raw(NOW.isoformat())
    kept = sorted(ts.date().isoformat() for ts in ProbeResult.objects.values_list("ts", flat=True))
    assert kept == ["2026-01-02", "2026-01-03", "2027-06-01"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_partitions_are_created_ahead_and_take_default_rows() -> None:
    service = Service.objects.create(key="svc")
    ahead = partitions.add_months(dt.date.today(), 2)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {partitions.partition_name(ahead)}")
    probes_ingest(
        rows=[(service.pk, "default", dt.datetime.combine(ahead, dt.time(), dt.UTC), True, 1.0)],
        closed={},
    )
    created = ensure_partitions()
    assert partitions.partition_name(ahead) in created
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.partition_name(ahead)}")
        assert cursor.fetchone()[0] == 1
