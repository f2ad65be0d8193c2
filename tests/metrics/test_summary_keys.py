"""The probe summaries' service column: no database foreign key, and deleting cascades."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from agreements.models import Service
from metrics.models import ProbeDay, ProbeHour, ProbeMinute, ProbeResult
from metrics.services import probes_ingest

pytestmark = pytest.mark.django_db
SUMMARIES = ["metrics_probeminute", "metrics_probehour", "metrics_probeday"]
SUMMARIES += ["metrics_probelatencyhour", "metrics_probelatencyday"]


def test_probe_summaries_have_no_foreign_key_or_index_of_their_own() -> None:
    with connection.cursor() as cursor:
        for table in SUMMARIES:
            constraints = connection.introspection.get_constraints(cursor, table)
            assert not [c for c in constraints.values() if c["foreign_key"]], table
            # Every index starts with the service column and includes the period.
            indexes = [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]
            assert indexes, table
            assert all(cols[0] == "service_id" and len(cols) > 1 for cols in indexes), (
                table,
                indexes,
            )


def test_deleting_a_service_still_removes_its_summaries() -> None:
    service = Service.objects.create(key="short-lived")
    ts = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
    probes_ingest(rows=[(service.pk, "default", ts, True, 12.0)], closed={})
    assert ProbeMinute.objects.filter(service=service).exists()
    ProbeResult.objects.filter(service=service).delete()  # raw results protect the service
    service.delete()
    for model in (ProbeMinute, ProbeHour, ProbeDay):
        assert not model.objects.filter(service_id=service.pk).exists()
