"""The statement's evidence names the sources of its figures (SPEC §4: every ingestion
batch is logged with its source, for staff and for the statement's evidence)."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from agreements.models import ApiKey
from credits.closing import close_due_periods
from credits.statements import statement_of
from portal.statements import statement_csv
from tests.credits.test_ledger import AFTER, MARCH, shop

pytestmark = pytest.mark.django_db


def test_the_statement_names_who_sent_its_measurements() -> None:
    agreement = shop()
    _, secret = ApiKey.generate(name="provider-monitoring", scopes=["ingest"], customer=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    rows = [
        {
            "service": "web",
            "ts": (MARCH + dt.timedelta(minutes=i)).isoformat(),
            "ok": True,
            "latency_ms": 10.0,
        }
        for i in range(30)
    ]
    import time_machine

    with time_machine.travel(MARCH + dt.timedelta(days=1), tick=False):
        assert client.post("/api/v1/probes/", rows, format="json").status_code == 201
    close_due_periods(now=AFTER)
    statement = statement_of(agreement, "2026-03")
    assert statement is not None
    assert [(s.name, s.kind, s.batches, s.records) for s in statement.sources] == [
        ("provider-monitoring", "probes", 1, 30)
    ]
    assert "source,provider-monitoring,probes,1,30" in statement_csv(statement)
