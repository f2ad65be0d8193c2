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


def minutes() -> list[tuple[str, dt.datetime, int, int]]:
    return list(
        SampleMinute.objects.order_by("metric", "minute").values_list(
            "metric", "minute", "count", "total_micros"
        )
    )


def test_a_sample_repeated_within_a_batch_is_stored_once_the_first_kept(
    ingest_client: Any,
) -> None:
    batch = [
        sample(value="10.5"),
        sample(ts="2026-03-10T10:00:20Z", value="1"),
        sample(value="99"),  # the same identity as the first, another value
        sample(ts="2026-03-10T10:00:00.000000+00:00", value="7"),  # the same instant again
    ]
    response = post(ingest_client, batch)
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 2, "duplicates": 2}
    assert sorted(Sample.objects.values_list("value", flat=True)) == [
        Decimal("1"),
        Decimal("10.5"),
    ]
    assert minutes() == [
        ("throughput_mbps", dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC), 2, 11_500_000)
    ]


def test_a_resent_batch_changes_no_summary_and_a_mixed_one_adds_only_its_new_samples(
    ingest_client: Any,
) -> None:
    first = [
        sample(value="-2.25"),
        sample(ts="2026-03-10T10:00:59.999999Z", value="1000000000"),
        sample(ts="2026-03-10T10:01:00Z", metric="qualified_leads", value=3),
    ]
    assert post(ingest_client, first).json() == {"accepted": 3, "duplicates": 0}
    before = minutes()
    assert post(ingest_client, first).json() == {"accepted": 0, "duplicates": 3}
    assert post(ingest_client, list(reversed(first))).json() == {"accepted": 0, "duplicates": 3}
    assert minutes() == before
    mixed = [*first, sample(ts="2026-03-10T10:00:30Z", value="0.000001")]
    assert post(ingest_client, mixed).json() == {"accepted": 1, "duplicates": 3}
    assert minutes() == [
        ("qualified_leads", dt.datetime(2026, 3, 10, 10, 1, tzinfo=dt.UTC), 1, 3_000_000),
        (
            "throughput_mbps",
            dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC),
            3,
            -2_250_000 + 1_000_000_000_000_000 + 1,
        ),
    ]
    assert Sample.objects.count() == 4


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("-999999999.999999", Decimal("-999999999.999999")),
        ("-1000000000", Decimal("-1000000000")),
        ("1.500000", Decimal("1.5")),
        ("007.25", Decimal("7.25")),
        (" 12.5 ", Decimal("12.5")),
        ("1e3", Decimal("1000")),
        ("-2.5E-5", Decimal("-0.000025")),
        ("+4", Decimal("4")),
        (".5", Decimal("0.5")),
        (1e-06, Decimal("0.000001")),
        (-0.0, Decimal("0")),
        (10**9, Decimal("1000000000")),
        (123456789.123456, Decimal("123456789.123456")),
    ],
)
def test_decimal_forms_within_the_rules_are_stored_exactly_and_summed(
    ingest_client: Any, value: Any, stored: Decimal
) -> None:
    response = post(ingest_client, [sample(value=value)])
    assert response.status_code == 201, response.json()
    assert Sample.objects.get().value == stored
    assert SampleMinute.objects.get().total_micros == int(stored.scaleb(6))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1.0000001", "6 decimal places"),
        ("-0.0000001", "6 decimal places"),
        ("1E-7", "6 decimal places"),
        (1e-07, "6 decimal places"),
        (0.30000000000000004, "6 decimal places"),
        ("1000000000.000001", "between"),
        ("-1000000000.5", "between"),
        ("1e10", "between"),
        (1e16, "between"),
        (-(10**9) - 1, "between"),
        ("9999999999", "between"),
        ("Infinity", "finite"),
        ("-inf", "finite"),
        ("1,5", "not a decimal number"),
        ("", "not a decimal number"),
        ("0x10", "not a decimal number"),
        ("\u0661\u0662\u0663", "digits 0-9"),
        ("1_000", "digits 0-9"),
        ("1" * 41, "at most 40 characters"),
        (None, "decimal number"),
        ([1], "decimal number"),
    ],
)
def test_decimal_forms_outside_the_rules_are_refused(
    ingest_client: Any, value: Any, words: str
) -> None:
    response = post(ingest_client, [sample(ts="2026-03-10T09:00:00Z"), sample(value=value)])
    assert response.status_code == 400, response.json()
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (1, "value")
    assert words in error["message"]
    assert not Sample.objects.exists()
    assert not SampleMinute.objects.exists()


def test_a_bad_metric_is_named_even_after_good_ones_in_the_same_batch(
    ingest_client: Any,
) -> None:
    batch = [
        sample(ts="2026-03-10T09:00:00Z"),
        sample(ts="2026-03-10T09:01:00Z"),
        sample(metric=["throughput_mbps"]),
        sample(metric="Throughput"),
    ]
    errors = post(ingest_client, batch).json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(2, "metric"), (3, "metric")]
    assert not Sample.objects.exists()


def test_samples_stored_directly_with_a_metric_needing_escapes_keep_it(
    agreement: Any,
) -> None:
    from agreements.models import Service
    from metrics.services import samples_ingest

    sid = Service.objects.get(key="backbone").pk
    at = dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC)
    name = "odd\\name\twith tab"
    result = samples_ingest(rows=[(sid, name, at, Decimal("2.5"))], closed={})
    assert (result.accepted, result.duplicates) == (1, 0)
    assert Sample.objects.get().metric == name
    assert minutes() == [(name, at, 1, 2_500_000)]
