"""Redis unreachable (REDIS_URL pointing at a closed port): degraded, not down.

Ingestion stores its rows and answers 201, reads answer 200, sessions live in the
database, work for the workers is kept in the database, and /healthz names what is down.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from metrics.models import ProbeResult
from portal import outbox
from portal.celery import app as celery_app
from portal.models import PendingTask

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_down(monkeypatch: Any) -> Any:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    caches = {"default": {"BACKEND": "portal.cache.RedisCache", "LOCATION": url}}
    monkeypatch.setattr(outbox, "_down_until", 0.0)
    # Enqueueing goes to the (unreachable) broker instead of running in the test process.
    conf = celery_app.conf
    before = (conf.task_always_eager, conf.broker_url)
    conf.task_always_eager, conf.broker_url = False, url
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        with override_settings(CACHES=caches, CELERY_BROKER_URL=url):
            yield url
    finally:
        conf.task_always_eager, conf.broker_url = before
        celery_app._pool = celery_app.amqp._producer_pool = None


def probes(n: int) -> str:
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    return json.dumps(
        [
            {
                "service": "hosted-api",
                "ts": (start + dt.timedelta(minutes=i)).isoformat(),
                "ok": True,
                "latency_ms": 80,
            }
            for i in range(n)
        ]
    )


def test_ingestion_stores_rows_and_answers_201(redis_down: str, api: Any, agreement: Any) -> None:
    client = api("ingest")
    began = time.monotonic()
    response = client.post("/api/v1/probes/", probes(5), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 5, "duplicates": 0}
    assert ProbeResult.objects.count() == 5
    # A second batch does not wait on Redis again (the cache is skipped for a while).
    second = client.post("/api/v1/probes/", probes(6), content_type="application/json")
    assert second.status_code == 201
    assert ProbeResult.objects.count() == 6
    assert time.monotonic() - began < 10


def test_reads_answer_200(redis_down: str, api: Any, agreement: Any) -> None:
    client = api("read")
    assert client.get("/api/v1/agreements/").status_code == 200
    assert client.get(f"/api/v1/agreements/{agreement.key}/compliance/").status_code == 200
    assert client.get(f"/api/v1/agreements/{agreement.key}/ledger/").status_code == 200


def test_sessions_and_pages_work_from_the_database(
    redis_down: str, client: Any, customer_user: Any, agreement: Any
) -> None:
    response = client.post(
        "/accounts/login/", {"username": "acme-viewer", "password": "pw-acme-viewer-1"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get(f"/agreements/{agreement.key}/").status_code == 200


def test_healthz_answers_503_naming_redis(redis_down: str, client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["cache"].startswith("down: ")
    assert body["broker"].startswith("down: ")
    assert "6379" not in body["cache"] and "127.0.0.1" in body["cache"]


def test_work_that_cannot_be_queued_is_kept_and_sent_later(
    redis_down: str, monkeypatch: Any
) -> None:
    from credits.tasks import recompute_agreements
    from notifications.tasks import send_digests

    send_digests.apply_async(countdown=61)
    recompute_agreements.delay([1, 2])
    recompute_agreements.delay([1, 2])  # the same work is kept once
    kept = list(PendingTask.objects.values_list("name", "args"))
    assert kept == [
        ("notifications.tasks.send_digests", []),
        ("credits.tasks.recompute_agreements", [[1, 2]]),
    ]
    assert PendingTask.objects.get(name__endswith="send_digests").not_before > timezone.now()

    sent: list[tuple[str, Any, Any]] = []
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, args, kwargs, **_: sent.append((name, args, kwargs))
    )
    assert outbox.send_pending(now=timezone.now()) == 2
    assert sent == [
        ("notifications.tasks.send_digests", [], {}),
        ("credits.tasks.recompute_agreements", [[1, 2]], {}),
    ]
    assert not PendingTask.objects.exists()


def test_a_broker_failure_while_sending_keeps_the_tasks(redis_down: str) -> None:
    from notifications.tasks import send_digests

    send_digests.delay()
    with pytest.raises(Exception):  # noqa: B017 - whatever kombu raises
        outbox.send_pending(now=timezone.now())
    assert PendingTask.objects.count() == 1


def test_rate_limit_fails_open(
    redis_down: str, api: Any, agreement: Any, caplog: Any, monkeypatch: Any
) -> None:
    from agreements.auth import ApiKeyRateThrottle

    monkeypatch.setattr(ApiKeyRateThrottle, "warned_window", -1)
    client = api("read")
    with override_settings(API_RATE_PER_MINUTE=1):
        for _ in range(3):
            assert client.get("/api/v1/agreements/").status_code == 200
    assert "rate limit not enforced" in caplog.text
