"""Ingestion endpoints: validation, all-or-nothing batches, idempotency, CSV, limits."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import override_settings

from metrics.models import (
    EventCount,
    EventMinute,
    Incident,
    LateArrival,
    Maintenance,
    ProbeDay,
    ProbeMinute,
    ProbeResult,
    Ticket,
)

pytestmark = pytest.mark.django_db
T0 = "2026-03-10T10:00:00Z"


def post(client: Any, path: str, records: Any, content_type: str = "application/json") -> Any:
    body = records if isinstance(records, (str, bytes)) else json.dumps(records)
    return client.post(f"/api/v1/{path}/", body, content_type=content_type)


@pytest.fixture
def ingest_client(api: Any, agreement: Any) -> Any:
    return api("ingest")


def probe(**over: Any) -> dict[str, Any]:
    return {"service": "hosted-api", "ts": T0, "ok": True, "latency_ms": 120.5, **over}


VALID = {
    "probes": probe(),
    "events": {"service": "backbone", "ts": T0, "good": 990, "total": 1000},
    "tickets": {
        "customer": "acme",
        "external_id": "T-1",
        "priority": "P1",
        "opened_at": T0,
        "first_response_at": "2026-03-10T10:30:00Z",
        "resolved_at": None,
    },
    "incidents": {
        "service": "hosted-api",
        "external_id": "INC-1",
        "title": "API down",
        "impact": "outage",
        "started_at": T0,
        "resolved_at": "2026-03-10T10:45:00Z",
    },
    "maintenance": {
        "service": "hosted-api",
        "external_id": "MW-1",
        "title": "DB upgrade",
        "start": "2026-03-12T01:00:00Z",
        "end": "2026-03-12T03:00:00Z",
        "announced_at": "2026-03-05T09:00:00Z",
    },
}
MODELS = {
    "probes": ProbeResult,
    "events": EventCount,
    "tickets": Ticket,
    "incidents": Incident,
    "maintenance": Maintenance,
}

INVALID = [
    # (kind, changes (None value = remove), field, words)
    ("probes", {"ts": None}, "ts", "is required"),
    ("probes", {"colour": "red"}, "colour", "unknown field"),
    ("probes", {"ts": "2026-03-10T10:00:00"}, "ts", "must include a UTC offset"),
    ("probes", {"ts": "yesterday"}, "ts", "is not an ISO 8601 timestamp"),
    ("probes", {"ts": 1700000000}, "ts", "ISO 8601"),
    ("probes", {"ts": "2099-01-01T00:00:00Z"}, "ts", "more than 5 minutes in the future"),
    ("probes", {"service": "nope"}, "service", "unknown service 'nope'"),
    ("probes", {"ok": "yes"}, "ok", "must be true or false"),
    ("probes", {"latency_ms": -1}, "latency_ms", "must not be negative"),
    ("probes", {"latency_ms": "fast"}, "latency_ms", "must be a number"),
    ("probes", {"latency_ms": None}, "latency_ms", "is required when ok is true"),
    ("probes", {"probe": ""}, "probe", "non-empty string"),
    ("events", {"good": 1001}, "good", "must not exceed total"),
    ("events", {"total": -5}, "total", "must not be negative"),
    ("events", {"good": 1.5}, "good", "whole number"),
    ("events", {"good": True}, "good", "whole number"),
    ("tickets", {"customer": "nobody"}, "customer", "unknown customer 'nobody'"),
    (
        "tickets",
        {"first_response_at": "2026-03-10T09:00:00Z"},
        "first_response_at",
        "must not be before opened_at",
    ),
    ("tickets", {"priority": ""}, "priority", "non-empty string"),
    ("incidents", {"impact": "minor"}, "impact", "must be outage or degraded"),
    (
        "incidents",
        {"resolved_at": "2026-03-10T09:00:00Z"},
        "resolved_at",
        "must not be before started_at",
    ),
    ("incidents", {"external_id": None}, "external_id", "is required"),
    ("maintenance", {"end": "2026-03-12T00:00:00Z"}, "end", "must be after start"),
    (
        "maintenance",
        {"announced_at": "2099-01-01T00:00:00Z"},
        "announced_at",
        "more than 5 minutes",
    ),
]


@pytest.mark.parametrize(
    ("kind", "changes", "field", "words"),
    INVALID,
    ids=[f"{k}-{f}-{w[:20]}" for k, _, f, w in INVALID],
)
def test_bad_record_is_reported_with_index_and_field(
    ingest_client: Any, kind: str, changes: dict[str, Any], field: str, words: str
) -> None:
    bad = {**VALID[kind], **changes}
    for key, value in changes.items():
        if value is None and key not in ("resolved_at", "first_response_at", "latency_ms"):
            bad.pop(key)
    good = dict(VALID[kind])
    response = post(ingest_client, kind, [good, bad])
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(e["index"] == 1 and e["field"] == field and words in e["message"] for e in errors), (
        errors
    )
    assert not MODELS[kind].objects.exists(), "a bad record must leave the database unchanged"


def test_non_finite_latency_is_refused(ingest_client: Any) -> None:
    body = (
        '[{"service": "hosted-api", "ts": "2026-03-10T10:00:00Z", "ok": true, "latency_ms": NaN}]'
    )
    response = post(ingest_client, "probes", body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "latency_ms"
    assert "finite" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("kind", list(VALID))
def test_valid_batch_is_stored_and_resending_is_idempotent(ingest_client: Any, kind: str) -> None:
    first = post(ingest_client, kind, [VALID[kind]])
    assert first.status_code == 201, first.content
    assert first.json() == {"accepted": 1, "duplicates": 0}
    again = post(ingest_client, kind, [VALID[kind]])
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert MODELS[kind].objects.count() == 1


def test_duplicates_inside_one_batch_are_counted(ingest_client: Any) -> None:
    response = post(ingest_client, "probes", [probe(), probe(), probe(probe="eu-west")])
    assert response.json() == {"accepted": 2, "duplicates": 1}


def test_probe_without_latency_when_failed(ingest_client: Any) -> None:
    response = post(ingest_client, "probes", [{"service": "hosted-api", "ts": T0, "ok": False}])
    assert response.status_code == 201
    assert ProbeResult.objects.get().latency_ms is None


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("tickets", {"resolved_at": "2026-03-10T12:00:00Z"}, "resolved_at"),
        (
            "incidents",
            {"resolved_at": "2026-03-10T11:00:00Z", "title": "API down (fixed)"},
            "title",
        ),
        ("maintenance", {"end": "2026-03-12T04:00:00Z"}, "end"),
    ],
)
def test_same_external_id_updates(
    ingest_client: Any, kind: str, change: dict[str, Any], field: str
) -> None:
    post(ingest_client, kind, [VALID[kind]])
    response = post(ingest_client, kind, [{**VALID[kind], **change}])
    assert response.json() == {"accepted": 1, "duplicates": 0}
    obj = MODELS[kind].objects.get()
    value = getattr(obj, field)
    expected = change[field]
    assert (
        value.isoformat().replace("+00:00", "Z") if isinstance(value, dt.datetime) else value
    ) == expected


def test_incident_keeps_a_timeline(ingest_client: Any) -> None:
    post(ingest_client, "incidents", [{**VALID["incidents"], "resolved_at": None}])
    post(ingest_client, "incidents", [VALID["incidents"]])
    incident = Incident.objects.get()
    assert [list(u.changes) for u in incident.updates.all()] == [
        ["title", "impact", "started_at", "resolved_at"],
        ["resolved_at"],
    ]


def test_csv_batch(ingest_client: Any) -> None:
    body = (
        "service,ts,ok,latency_ms,probe\n"
        "hosted-api,2026-03-10T10:00:00Z,true,100,default\n"
        "hosted-api,2026-03-10T10:00:30Z,false,,default\n"
    )
    response = post(ingest_client, "probes", body, "text/csv")
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0}
    minute = ProbeMinute.objects.get()
    assert (minute.ok, minute.failed) == (1, 1)


def test_csv_errors_name_row_and_field(ingest_client: Any) -> None:
    body = "service,ts,good,total\nbackbone,2026-03-10T10:00:00Z,5,4\n"
    response = post(ingest_client, "events", body, "text/csv")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "good", "message": "must not exceed total (5 > 4)"}
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        ("not json", "application/json", "not valid JSON"),
        ('{"service": "x"}', "application/json", "JSON array"),
        ("[]", "application/json", "empty"),
        ("[1]", "application/json", "must be an object"),
        ("<xml/>", "application/xml", "unsupported content type"),
        (b"\xff\xfe", "text/csv", "UTF-8"),
    ],
)
def test_malformed_bodies_are_400(
    ingest_client: Any, body: Any, content_type: str, words: str
) -> None:
    response = post(ingest_client, "probes", body, content_type)
    assert response.status_code == 400
    assert words in json.dumps(response.json())


def test_too_many_records_is_413(ingest_client: Any) -> None:
    records = [probe(ts=f"2026-03-10T10:00:{i % 60:02d}Z", probe=f"p{i}") for i in range(10_001)]
    response = post(ingest_client, "probes", records)
    assert response.status_code == 413
    assert "10000 records" in response.json()["error"]
    assert not ProbeResult.objects.exists()


def test_too_many_bytes_is_413(ingest_client: Any) -> None:
    body = "[" + " " * (10 * 1024 * 1024 + 10) + "]"
    response = post(ingest_client, "probes", body)
    assert response.status_code == 413
    assert "10 MB" in response.json()["error"]


@override_settings(API_RATE_PER_MINUTE=3)
def test_rate_limit_answers_429_with_retry_after(ingest_client: Any) -> None:
    codes = [post(ingest_client, "probes", [probe()]).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    response = post(ingest_client, "probes", [probe()])
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    assert "error" in response.json()


ENDPOINTS = list(VALID)


@pytest.mark.parametrize("kind", ENDPOINTS)
@pytest.mark.parametrize(
    ("scopes", "expected"), [((), 401), (("read",), 403), (("write",), 403), (("ingest",), 201)]
)
def test_scope_matrix(
    api: Any, client: Any, agreement: Any, kind: str, scopes: tuple[str, ...], expected: int
) -> None:
    c = api(*scopes) if scopes else client
    assert post(c, kind, [VALID[kind]]).status_code == expected


def test_customer_bound_key_cannot_write_other_customers(
    api: Any, agreement: Any, other_agreement: Any
) -> None:
    from agreements.models import Service

    Service.objects.create(key="globex-only")
    c = api("ingest", customer=other_agreement.customer)
    response = post(c, "tickets", [VALID["tickets"]])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "unknown customer 'acme'"
    assert post(c, "probes", [probe(service="globex-only")]).status_code == 400
    assert (
        post(c, "probes", [probe()]).status_code == 201
    )  # hosted-api is in globex's agreement too


def test_late_data_for_closed_period_is_stored_and_flagged(ingest_client: Any) -> None:
    from agreements.models import Service

    Service.objects.filter(key="hosted-api").update(
        closed_until=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    )
    response = post(ingest_client, "probes", [probe(), probe(ts="2026-04-02T00:00:00Z")])
    assert response.json() == {"accepted": 2, "duplicates": 0, "late": 1}
    assert ProbeResult.objects.filter(late=True).count() == 1
    arrival = LateArrival.objects.get()
    assert (arrival.kind, arrival.records) == ("probes", 1)
    assert arrival.first_ts == arrival.last_ts == dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC)


def test_a_resent_late_record_is_neither_stored_nor_late_again(ingest_client: Any) -> None:
    from agreements.models import Service

    Service.objects.filter(key="hosted-api").update(
        closed_until=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    )
    post(ingest_client, "probes", [probe()])
    response = post(ingest_client, "probes", [probe(), probe(probe="other")])
    assert response.json() == {"accepted": 1, "duplicates": 1, "late": 1}
    assert [a.records for a in LateArrival.objects.order_by("id")] == [1, 1]
    response = post(ingest_client, "probes", [probe(), probe(probe="other")])
    assert response.json() == {"accepted": 0, "duplicates": 2}
    assert LateArrival.objects.count() == 2


def test_summaries_follow_each_batch(ingest_client: Any) -> None:
    post(ingest_client, "probes", [probe(ok=False, latency_ms=None)])
    day = ProbeDay.objects.get()
    assert (day.up, day.down) == (0, 1)
    post(ingest_client, "probes", [probe(probe="b"), probe(probe="c")])
    day.refresh_from_db()
    assert (day.up, day.down, day.probes_ok, day.probes_failed) == (1, 0, 2, 1)
    post(
        ingest_client,
        "events",
        [VALID["events"], {**VALID["events"], "ts": "2026-03-10T10:00:30Z"}],
    )
    minute = EventMinute.objects.get()
    assert (minute.good, minute.total) == (1980, 2000)


@pytest.mark.parametrize(
    ("latency", "words"),
    [("Infinity", "finite"), ("-Infinity", "finite"), ("-0.5", "must not be negative")],
)
def test_latency_out_of_range_is_refused(ingest_client: Any, latency: str, words: str) -> None:
    body = f'[{{"service": "hosted-api", "ts": "{T0}", "ok": true, "latency_ms": {latency}}}]'
    response = post(ingest_client, "probes", body)
    assert response.status_code == 400
    assert words in response.json()["errors"][0]["message"]


def test_whole_number_latency_is_stored_as_a_number(ingest_client: Any) -> None:
    response = post(ingest_client, "probes", [probe(latency_ms=0), probe(probe="b", latency_ms=7)])
    assert response.status_code == 201, response.content
    assert sorted(ProbeResult.objects.values_list("latency_ms", flat=True)) == [0.0, 7.0]


def test_timestamps_are_stored_to_the_microsecond_in_utc(ingest_client: Any) -> None:
    stamps = {
        "a": ("2026-03-10T10:00:00.123456Z", dt.datetime(2026, 3, 10, 10, 0, 0, 123456)),
        "b": ("2026-03-10T12:30:01.5+02:00", dt.datetime(2026, 3, 10, 10, 30, 1, 500000)),
        "c": ("2026-03-10T04:59:59-05:00", dt.datetime(2026, 3, 10, 9, 59, 59)),
        "d": ("2026-03-10T10:00:00+00:00", dt.datetime(2026, 3, 10, 10, 0)),
    }
    records = [probe(probe=name, ts=text) for name, (text, _) in stamps.items()]
    assert post(ingest_client, "probes", records).status_code == 201
    stored = dict(ProbeResult.objects.values_list("probe", "ts"))
    assert stored == {name: when.replace(tzinfo=dt.UTC) for name, (_, when) in stamps.items()}


def test_probe_names_are_checked_for_every_record(ingest_client: Any) -> None:
    records = [probe(probe=""), probe(probe=" eu "), probe(probe=""), probe(probe=["x"])]
    response = post(ingest_client, "probes", records)
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [
        (0, "probe"),
        (2, "probe"),
        (3, "probe"),
    ]
    response = post(ingest_client, "probes", [probe(probe=" eu "), probe(probe="eu")])
    assert response.json() == {"accepted": 1, "duplicates": 1}
    assert list(ProbeResult.objects.values_list("probe", flat=True)) == ["eu"]


def test_batch_partly_stored_before_counts_only_new_rows(ingest_client: Any) -> None:
    first = [probe(probe="a"), probe(probe="b", ok=False, latency_ms=None)]
    assert post(ingest_client, "probes", first).json() == {"accepted": 2, "duplicates": 0}
    again = [*first, probe(probe="c", ok=False, latency_ms=None), probe(probe="c")]
    assert post(ingest_client, "probes", again).json() == {"accepted": 1, "duplicates": 3}
    minute = ProbeMinute.objects.get()
    assert (minute.ok, minute.failed) == (1, 2)
    day = ProbeDay.objects.get()
    assert (day.up, day.down, day.probes_ok, day.probes_failed) == (0, 1, 1, 2)
    # A new batch after the fallback path takes the fast path again.
    assert post(ingest_client, "probes", [probe(probe="d")]).json() == {
        "accepted": 1,
        "duplicates": 0,
    }
    minute.refresh_from_db()
    day.refresh_from_db()
    assert (minute.ok, minute.failed, day.up, day.down) == (2, 2, 1, 0)  # half failed: up


def test_probe_batch_queries_do_not_grow_with_its_size(ingest_client: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite inserts in chunks bounded by its limit on query parameters")
    post(ingest_client, "probes", [probe(probe="warm-up")])  # the key's last use is written
    counts = []
    for size, location in ((10, "small"), (900, "large")):
        records = [
            probe(
                probe=location,
                ts=f"2026-03-10T{9 - i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            )
            for i in range(size)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert post(ingest_client, "probes", records).status_code == 201
        counts.append(len(queries))
    assert counts[0] == counts[1]
