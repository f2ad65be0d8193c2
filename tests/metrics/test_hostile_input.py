"""Ingestion holds at every edge: hostile or broken input is a 400 naming the field, never
a 500, a partial write, or a record that a later recompute cannot process."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from metrics.limits import MAX_EVENT_COUNT, MAX_MINUTE_TOTAL
from metrics.models import (
    EventCount,
    EventMinute,
    Incident,
    Maintenance,
    ProbeMinute,
    ProbeResult,
    Ticket,
)

pytestmark = pytest.mark.django_db
T0 = "2026-03-10T10:00:00Z"
STORED = [ProbeResult, ProbeMinute, EventCount, EventMinute, Ticket, Incident, Maintenance]


def post(client: Any, path: str, records: Any, content_type: str = "application/json") -> Any:
    body = records if isinstance(records, (str, bytes)) else json.dumps(records)
    return client.post(f"/api/v1/{path}/", body, content_type=content_type)


@pytest.fixture
def ingest_client(api: Any, agreement: Any) -> Any:
    return api("ingest")


def nothing_stored() -> bool:
    return all(not model.objects.exists() for model in STORED)


def refused(response: Any, field: str, words: str = "") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"].startswith("nothing stored")
    messages = [e["message"] for e in body["errors"] if e["field"] == field]
    assert messages, body
    assert words in " ".join(messages), body
    assert nothing_stored()


def event(**over: Any) -> dict[str, Any]:
    return {"service": "backbone", "ts": T0, "good": 990, "total": 1000, **over}


def probe(**over: Any) -> dict[str, Any]:
    return {"service": "hosted-api", "ts": T0, "ok": True, "latency_ms": 120.5, **over}


def incident(**over: Any) -> dict[str, Any]:
    return {
        "service": "hosted-api",
        "external_id": "INC-1",
        "title": "API down",
        "impact": "outage",
        "started_at": T0,
        **over,
    }


def ticket(**over: Any) -> dict[str, Any]:
    return {"customer": "acme", "external_id": "T-1", "priority": "P1", "opened_at": T0, **over}


def maintenance(**over: Any) -> dict[str, Any]:
    soon = timezone.now() + dt.timedelta(days=7)
    return {
        "service": "hosted-api",
        "external_id": "MW-1",
        "title": "DB upgrade",
        "start": soon.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (soon + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "announced_at": T0,
        **over,
    }


# Counts: bounded by what a month of them can be summed into --------------------------


@pytest.mark.parametrize("field", ["good", "total"])
@pytest.mark.parametrize(
    "value",
    [10**18, 4611686018427387903, MAX_EVENT_COUNT + 1, 10**5000],
    ids=["1e18", "2^62-1", "limit+1", "5000-digits"],
)
def test_event_counts_above_the_record_limit_are_refused(
    ingest_client: Any, field: str, value: int
) -> None:
    record = event(good=0, total=0)
    record[field] = value
    if field == "good":
        record["total"] = value
    body = json.dumps([record]) if value < 10**4000 else f'[{{"{field}": {"9" * 5000}}}]'
    response = post(ingest_client, "events", body)
    assert response.status_code == 400, response.content
    assert nothing_stored()
    if value < 10**4000:
        refused(response, field, "at most 1,000,000,000")


def test_event_counts_above_the_record_limit_are_refused_in_csv(ingest_client: Any) -> None:
    csv = f"service,ts,good,total\nbackbone,{T0},0,{10**18}\n"
    refused(post(ingest_client, "events", csv, "text/csv"), "total", "at most")


def test_event_counts_at_the_record_limit_are_accepted(ingest_client: Any) -> None:
    record = event(good=MAX_EVENT_COUNT, total=MAX_EVENT_COUNT)
    assert post(ingest_client, "events", [record]).status_code == 201


def test_a_minute_whose_events_would_pass_the_minute_limit_is_refused(ingest_client: Any) -> None:
    per_minute = MAX_MINUTE_TOTAL // MAX_EVENT_COUNT  # records of the largest size a minute holds
    full = [
        event(ts=f"2026-03-10T10:00:00.{i:06d}Z", good=0, total=MAX_EVENT_COUNT)
        for i in range(per_minute)
    ]
    assert post(ingest_client, "events", full).status_code == 201
    stored = EventCount.objects.count()
    # One more record in the same minute (a different microsecond) is one too many...
    one_more = event(ts="2026-03-10T10:00:59.999999Z", good=0, total=1)
    response = post(ingest_client, "events", [event(ts="2026-03-10T10:01:00Z"), one_more])
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (1, "total")
    assert "would total more than" in error["message"]
    # ... and the whole batch is left out, the other minute's record too.
    assert EventCount.objects.count() == stored
    assert EventMinute.objects.get().total == MAX_MINUTE_TOTAL


# Latency -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "latency", [int("9" * 401), 3_600_001, 1e308, -0.5], ids=["401-digits", "hour+1", "1e308", "<0"]
)
def test_latency_out_of_bounds_is_refused(ingest_client: Any, latency: Any) -> None:
    refused(post(ingest_client, "probes", [probe(latency_ms=latency)]), "latency_ms")


@pytest.mark.parametrize("latency", ["1e400", "9" * 401, "nan", "3600001"])
def test_latency_out_of_bounds_is_refused_in_csv(ingest_client: Any, latency: str) -> None:
    csv = f"service,ts,ok,latency_ms\nhosted-api,{T0},true,{latency}\n"
    refused(post(ingest_client, "probes", csv, "text/csv"), "latency_ms")


# Timestamps: well-formed instants from 2000 on, maintenance at most two years ahead ---


@pytest.mark.parametrize(
    "ts",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00",
        "1999-12-31T23:59:59Z",
        "2000-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-03-10T10:00:301Z",
        "2026-03-10T10:00Z",
        "2026-03-10T10:00:00",
        "2026-03-10T10:00:00.1234567Z",
        "2026-03-10T10:00:00,5Z",
        "20260310T100000Z",
        "2026-03-10T10:00:00Z\n",
    ],
)
def test_malformed_or_out_of_range_timestamps_are_refused(ingest_client: Any, ts: str) -> None:
    refused(post(ingest_client, "probes", [probe(ts=ts)]), "ts")


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2026-03-10T10:00:301Z"]
)
def test_malformed_or_out_of_range_timestamps_are_refused_in_csv(
    ingest_client: Any, ts: str
) -> None:
    csv = f"service,ts,good,total\nbackbone,{ts},1,2\n"
    refused(post(ingest_client, "events", csv, "text/csv"), "ts")


def test_fractional_seconds_after_a_dot_are_kept(ingest_client: Any) -> None:
    assert (
        post(ingest_client, "probes", [probe(ts="2026-03-10T10:00:30.25+01:00")]).status_code == 201
    )
    assert ProbeResult.objects.get().ts == dt.datetime(2026, 3, 10, 9, 0, 30, 250000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [("end", "9999-12-31T23:00:00Z"), ("start", "+3y"), ("end", "+3y")],
)
def test_maintenance_far_ahead_is_refused(ingest_client: Any, field: str, value: str) -> None:
    if value == "+3y":
        value = (timezone.now() + dt.timedelta(days=3 * 365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = maintenance(**{field: value})
    if field == "start":
        record["end"] = (timezone.now() + dt.timedelta(days=3 * 366)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refused(post(ingest_client, "maintenance", [record]), field)


# Text: one line, no control characters ------------------------------------------------

HOSTILE = [
    "db down\nBcc: x@example.invalid",
    "carriage\rreturn",
    "nul\x00byte",
    "lone \udfff surrogate",
    "c1 \x85 next line",
    "tab\there",
    "line\u2028separator",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize(
    ("kind", "make", "field"),
    [
        ("incidents", incident, "title"),
        ("incidents", incident, "external_id"),
        ("incidents", incident, "service"),
        ("maintenance", maintenance, "title"),
        ("maintenance", maintenance, "external_id"),
        ("tickets", ticket, "external_id"),
        ("tickets", ticket, "priority"),
        ("tickets", ticket, "customer"),
        ("probes", probe, "probe"),
    ],
)
def test_text_with_control_characters_is_refused(
    ingest_client: Any, kind: str, make: Any, field: str, value: str
) -> None:
    refused(post(ingest_client, kind, [make(**{field: value})]), field)


def test_text_longer_than_its_column_is_refused(ingest_client: Any) -> None:
    refused(post(ingest_client, "incidents", [incident(title="x" * 301)]), "title", "at most 300")


def test_a_hostile_field_name_is_named_safely(ingest_client: Any) -> None:
    response = post(ingest_client, "probes", [{**probe(), "\udfff\n": 1}])
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "index": 0,
        "field": "'\\udfff\\n'",
        "message": "unknown field",
    }


# CSV bodies that trip the reader ------------------------------------------------------


@pytest.mark.parametrize("kind", ["probes", "events", "tickets", "incidents", "maintenance"])
def test_a_bare_carriage_return_in_csv_is_not_a_server_error(ingest_client: Any, kind: str) -> None:
    response = post(ingest_client, kind, 'service,ts\rbackbone,x\ry\r\x00,"a\rb', "text/csv")
    assert response.status_code == 400, response.content
    assert nothing_stored()


def test_rows_ended_by_bare_carriage_returns_are_read_as_rows(ingest_client: Any) -> None:
    csv = f"service,ts,good,total\rbackbone,{T0},1,2\rbackbone,2026-03-10T10:01:00Z,1,2\r"
    response = post(ingest_client, "events", csv, "text/csv")
    assert response.status_code == 201, response.content
    assert response.json()["accepted"] == 2


def test_a_csv_field_larger_than_the_reader_allows_is_refused(ingest_client: Any) -> None:
    csv = f'service,ts,ok,latency_ms\nhosted-api,{T0},true,"{"1" * 200_000}"\n'
    response = post(ingest_client, "probes", csv, "text/csv")
    assert response.status_code == 400, response.content
    assert "CSV" in response.json()["errors"][0]["message"]
    assert nothing_stored()


@pytest.mark.parametrize("kind", ["probes", "events", "tickets", "incidents", "maintenance"])
def test_json_nested_too_deeply_is_a_400_on_every_ingestion_endpoint(api: Any, kind: str) -> None:
    body = "[" * 5000 + "]" * 5000
    response = api("ingest").post(f"/api/v1/{kind}/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["message"]


def test_a_right_to_left_override_in_a_title_is_refused(api: Any) -> None:
    from agreements.text import TextError, single_line

    with pytest.raises(TextError, match="U\\+202E"):
        single_line("db \u202edown", "title", max_length=300)
