"""Fixtures of the notification tests: a real HTTP receiver on loopback, members with email."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agreements.models import Membership, Service
from metrics.services import incidents_ingest, probes_ingest

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
# Down minutes from T0 that exhaust the 99.9% budget of all of March still to come (rule
# 11: about 31 minutes of the 30,900 reachable), so the open period is breached (rule 10).
BREACH = 45


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1. ``script`` lists what to answer, in order:
    a status code, ``("sleep", seconds)`` or ``("redirect", location)``; then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
                step = state.script.pop(0) if state.script else 200
            if isinstance(step, tuple) and step[0] == "sleep":
                time.sleep(step[1])
                step = 200
            if isinstance(step, tuple) and step[0] == "redirect":
                self.send_response(302)
                self.send_header("Location", step[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = b'{"ok": true}' if step < 300 else b"receiver says no"
            self.send_response(step)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/sla"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def allow_private(settings: Any) -> Any:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    return settings


@pytest.fixture
def members(django_user_model: Any, agreement: Any) -> list[Any]:
    """Two acme members with email addresses (who receive notifications)."""
    users = []
    for name, role in (("alice", "manager"), ("bob", "viewer")):
        user = django_user_model.objects.create_user(
            name, email=f"{name}@acme.example", password=f"pw-{name}-123456"
        )
        Membership.objects.create(user=user, customer=agreement.customer, role=role)
        users.append(user)
    return users


def fail_minutes(start: dt.datetime, count: int, service_key: str = "hosted-api") -> None:
    service = Service.objects.get(key=service_key)
    probes_ingest(
        rows=[
            (service.pk, "default", start + dt.timedelta(minutes=i, seconds=10), False, None)
            for i in range(count)
        ],
        closed={},
    )


def ingest_incident(
    external_id: str = "INC-1",
    *,
    impact: str = "outage",
    started_at: dt.datetime = T0,
    resolved_at: dt.datetime | None = None,
    title: str = "API down",
    service_key: str = "hosted-api",
) -> None:
    service = Service.objects.get(key=service_key)
    incidents_ingest(
        rows=[(service.pk, external_id, title, impact, started_at, resolved_at)], closed={}
    )
