"""Ingestion's sources: measured_by is enforced, and every stored batch is logged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agreements.models import ApiKey, Service
from agreements.services import agreement_import
from metrics.models import IngestionBatch, ProbeResult

pytestmark = pytest.mark.django_db
T0 = "2026-03-10T10:00:00Z"
UTC = dt.UTC


def _key(name: str, *scopes: str, customer: Any = None) -> tuple[APIClient, ApiKey]:
    key, secret = ApiKey.generate(name=name, scopes=list(scopes or ["ingest"]), customer=customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, key


def _probes(client: APIClient, *records: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/probes/", json.dumps(list(records)), content_type="application/json"
    )


def probe(**over: Any) -> dict[str, Any]:
    return {"service": "hosted-api", "ts": T0, "ok": True, "latency_ms": 120, **over}


@pytest.fixture
def measured(document: dict[str, Any]) -> Any:
    document["measured_by"] = ["provider-monitoring", "blackbox"]
    return agreement_import(data=document, actor="test").agreement


def test_a_listed_key_is_accepted(measured: Any) -> None:
    client, _ = _key("blackbox")
    assert _probes(client, probe()).status_code == 201


def test_an_unlisted_key_is_refused_naming_the_service(measured: Any) -> None:
    client, _ = _key("someone-else")
    response = _probes(client, probe(), probe(ts="2026-03-10T10:01:00Z"))
    assert response.status_code == 403
    body = response.json()
    assert body["service"] == "hosted-api"
    assert "'hosted-api'" in body["error"] and "measured_by" in body["error"]
    assert not ProbeResult.objects.exists()
    assert not IngestionBatch.objects.exists()


def test_customer_bound_keys_are_held_to_it_too(measured: Any) -> None:
    own, _ = _key("acme-monitor", "ingest", customer=measured.customer)
    assert _probes(own, probe()).status_code == 403
    listed, _ = _key("provider-monitoring", "ingest", customer=measured.customer)
    assert _probes(listed, probe()).status_code == 201


def test_services_without_measured_by_take_any_key(measured: Any, document: dict[str, Any]) -> None:
    # A third service, of an agreement that names no sources.
    document["agreement"] = "acme-extra"
    document.pop("measured_by")
    for objective in document["objectives"]:
        if objective.get("service"):
            objective["service"] = "extra-api"
    agreement_import(data=document, actor="test")
    client, _ = _key("someone-else")
    assert _probes(client, probe(service="extra-api")).status_code == 201
    # One record of a service that names its sources refuses the whole batch.
    response = _probes(client, probe(service="extra-api", ts="2026-03-10T10:05:00Z"), probe())
    assert response.status_code == 403 and response.json()["service"] == "hosted-api"


def test_every_agreement_on_a_shared_service_must_list_the_key(
    measured: Any, document: dict[str, Any]
) -> None:
    document["agreement"] = "globex-hosting"
    document["customer"] = {"key": "globex", "name": "Globex"}
    document["measured_by"] = ["provider-monitoring"]
    agreement_import(data=document, actor="test")
    blackbox, _ = _key("blackbox")
    assert _probes(blackbox, probe()).status_code == 403  # globex does not count blackbox
    provider, _ = _key("provider-monitoring")
    assert _probes(provider, probe()).status_code == 201


@pytest.mark.parametrize(
    ("path", "record"),
    [
        ("events", {"service": "backbone", "ts": T0, "good": 9, "total": 10}),
        (
            "incidents",
            {
                "service": "hosted-api",
                "external_id": "INC-1",
                "title": "API down",
                "impact": "outage",
                "started_at": T0,
            },
        ),
        (
            "maintenance",
            {
                "service": "hosted-api",
                "external_id": "MW-1",
                "title": "DB upgrade",
                "start": T0,
                "end": "2026-03-10T11:00:00Z",
                "announced_at": "2026-03-01T09:00:00Z",
            },
        ),
    ],
)
def test_every_kind_about_a_service_is_held_to_it(
    measured: Any, path: str, record: dict[str, Any]
) -> None:
    client, _ = _key("someone-else")
    response = client.post(f"/api/v1/{path}/", [record], format="json")
    assert response.status_code == 403


def test_the_check_is_one_query_whatever_the_batch(measured: Any) -> None:
    client, _ = _key("blackbox")
    _probes(client, probe(probe="warm-up"))  # the key's last use is written
    counts = []
    for size, location in ((2, "small"), (120, "large")):
        records = [
            probe(probe=location, ts=f"2026-03-10T09:{i // 60:02d}:{i % 60:02d}Z")
            for i in range(size)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert _probes(client, *records).status_code == 201
        counts.append(sum("measured_by" in q["sql"] for q in queries.captured_queries))
    assert counts == [1, 1]


# The ingestion log -------------------------------------------------------------------


def test_a_stored_batch_is_logged_with_its_source(agreement: Any) -> None:
    client, key = _key("provider-monitoring")
    response = _probes(client, probe(ts="2026-03-10T10:02:00Z"), probe(), probe(service="backbone"))
    assert response.status_code == 201
    _probes(client, probe())  # a duplicate only: still a batch, from the same source
    first, second = IngestionBatch.objects.order_by("id")
    assert (first.kind, first.endpoint, first.source, first.api_key_id) == (
        "probes",
        "/api/v1/probes/",
        "provider-monitoring",
        key.pk,
    )
    assert (first.records, first.accepted, first.duplicates) == (3, 3, 0)
    assert first.first_ts == dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert first.last_ts == dt.datetime(2026, 3, 10, 10, 2, tzinfo=UTC)
    assert first.received_at is not None
    assert {s.key for s in first.services.all()} == {"hosted-api", "backbone"}
    assert (second.records, second.accepted, second.duplicates) == (1, 0, 1)


def test_ticket_batches_name_their_customers(agreement: Any) -> None:
    client, _ = _key("helpdesk")
    record = {"customer": "acme", "external_id": "T-1", "priority": "P1", "opened_at": T0}
    assert client.post("/api/v1/tickets/", [record], format="json").status_code == 201
    batch = IngestionBatch.objects.get()
    assert [c.key for c in batch.customers.all()] == ["acme"]
    assert IngestionBatch.objects.for_customers([agreement.customer_id]).get() == batch


def test_refused_and_invalid_batches_are_not_logged(agreement: Any) -> None:
    client, _ = _key("provider-monitoring")
    assert _probes(client, probe(ok="maybe")).status_code == 400
    assert not IngestionBatch.objects.exists()


def test_batches_are_found_by_service_and_period(agreement: Any) -> None:
    client, _ = _key("provider-monitoring")
    _probes(client, probe(ts="2026-03-31T23:59:00Z"))
    _probes(client, probe(ts="2026-04-01T00:00:00Z", service="backbone"))
    hosted = Service.objects.get(key="hosted-api")
    march = (dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))
    april = (dt.datetime(2026, 4, 1, tzinfo=UTC), dt.datetime(2026, 5, 1, tzinfo=UTC))
    assert IngestionBatch.objects.for_services([hosted.pk]).within(*march).count() == 1
    assert IngestionBatch.objects.for_services([hosted.pk]).within(*april).count() == 0
    assert IngestionBatch.objects.within(*april).get().services.get().key == "backbone"


def test_the_log_row_rolls_back_with_the_batch(agreement: Any, monkeypatch: Any) -> None:
    from metrics import services

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_log_batch", broken)
    client, _ = _key("provider-monitoring")
    client.raise_request_exception = False
    assert _probes(client, probe()).status_code == 500
    assert not ProbeResult.objects.exists()
    assert not IngestionBatch.objects.exists()
