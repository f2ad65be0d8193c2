"""POST /api/v1/samples/ (SPEC §4, rule 16): JSON and CSV, all or nothing, idempotent by
(service, metric, ts), summarised per minute with count and sum."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from metrics.models import IngestionBatch, LateArrival, Sample, SampleMinute

pytestmark = pytest.mark.django_db
T0 = "2026-03-10T10:00:00Z"


def post(client: Any, records: Any, content_type: str = "application/json") -> Any:
    body = records if isinstance(records, str) else json.dumps(records)
    return client.post("/api/v1/samples/", body, content_type=content_type)


def sample(**over: Any) -> dict[str, Any]:
    return {"service": "backbone", "metric": "throughput_mbps", "ts": T0, "value": 912.5, **over}


@pytest.fixture
def ingest_client(api: Any, agreement: Any) -> Any:
    return api("ingest")


def test_samples_are_stored_with_minute_summaries_and_resending_stores_nothing(
    ingest_client: Any,
) -> None:
    batch = [
        sample(),
        sample(ts="2026-03-10T10:00:30Z", value="887.25"),
        sample(ts="2026-03-10T10:01:00Z", value=3),
        sample(metric="qualified_leads", value=7),
    ]
    response = post(ingest_client, batch)
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 4, "duplicates": 0}
    assert post(ingest_client, batch).json() == {"accepted": 0, "duplicates": 4}
    assert Sample.objects.count() == 4
    minute = SampleMinute.objects.get(
        metric="throughput_mbps", minute=dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC)
    )
    assert (minute.count, minute.total_micros) == (2, 1_799_750_000)
    assert SampleMinute.objects.filter(metric="qualified_leads").get().total_micros == 7_000_000
    assert IngestionBatch.objects.filter(kind="samples").count() == 2


def test_csv_samples(ingest_client: Any) -> None:
    body = "service,metric,ts,value\nbackbone,throughput_mbps,2026-03-10T10:00:00Z,901.125\n"
    response = post(ingest_client, body, "text/csv")
    assert response.status_code == 201, response.json()
    assert Sample.objects.get().value == Decimal("901.125")


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"value": "fast"}, "value", "not a decimal number"),
        ({"value": "NaN"}, "value", "finite"),
        ({"value": True}, "value", "decimal number"),
        ({"value": 10**9 + 1}, "value", "between"),
        ({"value": "1.0000001"}, "value", "6 decimal places"),
        ({"metric": "Throughput Mbps"}, "metric", "metric name"),
        ({"service": "nowhere"}, "service", "unknown service"),
        ({"ts": "2026-03-10 10:00"}, "ts", "ISO 8601"),
    ],
)
def test_a_bad_sample_refuses_the_whole_batch_naming_the_field(
    ingest_client: Any, over: dict[str, Any], field: str, words: str
) -> None:
    response = post(ingest_client, [sample(ts="2026-03-10T09:00:00Z"), sample(**over)])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (1, field)
    assert words in error["message"]
    assert not Sample.objects.exists()
    assert not SampleMinute.objects.exists()


def test_missing_and_unknown_fields_are_named(ingest_client: Any) -> None:
    record = sample(colour="red")
    del record["value"]
    errors = post(ingest_client, [record]).json()["errors"]
    assert {(e["field"], e["message"]) for e in errors} == {
        ("colour", "unknown field"),
        ("value", "is required"),
    }


def test_samples_need_the_ingest_scope(api: Any, client: Any, agreement: Any) -> None:
    assert post(client, [sample()]).status_code == 401
    assert post(api("read"), [sample()]).status_code == 403
    assert not Sample.objects.exists()


def test_a_late_sample_for_a_closed_period_is_stored_and_flagged(ingest_client: Any) -> None:
    from agreements.models import Service

    Service.objects.filter(key="backbone").update(
        closed_until=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    )
    response = post(ingest_client, [sample()])
    assert response.json() == {"accepted": 1, "duplicates": 0, "late": 1}
    assert LateArrival.objects.get().kind == "samples"
