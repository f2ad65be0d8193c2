"""The demo shows each further form: a network agreement with jitter, latency, throughput
and packet delivery, and an outsourcing agreement with MTTR, MTBF and committed hours
whose first month's shortfall carries into the second."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from agreements.document import load_document
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.models import Evaluation, Period
from portal.demo_measures import load_further_forms

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "portal" / "demo"
START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_demo_agreements_show_every_further_form() -> None:
    for name in ("acme-network.yaml", "globex-outsourcing.yaml"):
        data = load_document((DEMO / name).read_text(encoding="utf-8"))
        data["effective_from"] = START.date().isoformat()
        agreement_import(data=data, actor="test")
    end = START + dt.timedelta(days=75)
    assert "throughput samples" in load_further_forms(START, end, random.Random(2026))
    close_due_periods(now=dt.datetime(2026, 8, 3, tzinfo=dt.UTC))
    july = {
        e.objective_key: e
        for e in Evaluation.objects.filter(period__period="2026-07", period__state="closed")
    }
    assert {k: july[k].value_unit for k in ("wan-jitter", "restore-time", "wan-throughput")} == {
        "wan-jitter": "ms",
        "restore-time": "s",
        "wan-throughput": "throughput_mbps",
    }
    assert july["wan-jitter"].status == "breached"  # the congested week
    assert july["restore-time"].status == "breached"  # the 9.5 h outage
    assert july["committed-hours"].carried_from == "2026-06"
    assert july["committed-hours"].carried > 0
    assert Period.objects.filter(period="2026-07", state="closed").count() == 2
    assert july["wan-throughput"].status == "breached"
    june = Evaluation.objects.get(period__period="2026-06", objective_key="wan-jitter")
    assert june.status == "met"
