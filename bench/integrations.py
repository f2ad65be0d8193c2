"""Integration webhooks: one Alertmanager delivery of 1,000 alerts (version 4 body),
firing and then resolved, against gunicorn with PostgreSQL on loopback. Target: each
handled in under a second.

Last line: {"alertmanager_1000_s", "alertmanager_1000_resolved_s"} (seconds per delivery).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Server, bench_database_url, environment, manage, recreate_database

ALERTS = 1000
SERVICES = 20


def delivery(status: str, start: dt.datetime) -> bytes:
    """One Alertmanager webhook body of ``ALERTS`` alerts over ``SERVICES`` services."""
    alerts: list[dict[str, Any]] = []
    for i in range(ALERTS):
        begun = start + dt.timedelta(seconds=i)
        alerts.append(
            {
                "status": status,
                "labels": {
                    "alertname": "ProbeFailure",
                    "service": f"bench-{i % SERVICES}",
                    "instance": f"https://host-{i}.example",
                    "severity": "critical" if i % 3 else "warning",
                },
                "annotations": {"summary": f"Probe failure on host {i}"},
                "startsAt": begun.isoformat().replace("+00:00", "Z"),
                "endsAt": (begun + dt.timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
                if status == "resolved"
                else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": f"{i:016x}",
            }
        )
    body = {
        "receiver": "sla-portal",
        "status": status,
        "alerts": alerts,
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": {"alertname": "ProbeFailure"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": '{}:{alertname="ProbeFailure"}',
        "truncatedAlerts": 0,
    }
    return json.dumps(body).encode()


def send(port: int, key: str, body: bytes) -> tuple[float, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    began = time.perf_counter()
    conn.request(
        "POST",
        "/api/v1/integrations/alertmanager/",
        body=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - began
    conn.close()
    if response.status != 200:
        sys.exit(f"delivery failed: {response.status}: {payload[:300]!r}")
    return elapsed, json.loads(payload)


def main() -> None:
    url = bench_database_url()
    print(f"database: {url.rsplit('@', 1)[-1]}", flush=True)
    recreate_database(url)
    env = environment(url, API_RATE_PER_MINUTE="1000000")
    manage(env, "migrate", "--noinput", "-v", "0")
    code = (
        "from agreements.models import Service;"
        f"[Service.objects.get_or_create(key=f'bench-{{i}}') for i in range({SERVICES})]"
    )
    manage(env, "shell", "-c", code)
    key = manage(env, "create_api_key", "bench", "--scope", "ingest").strip().splitlines()[-1]
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    server = Server(env, workers=1)
    try:
        # Warm-up (imports, connections) with alerts of another hour, not counted.
        send(server.port, key, delivery("firing", start - dt.timedelta(hours=1)))
        firing_s, firing = send(server.port, key, delivery("firing", start))
        resolved_s, resolved = send(server.port, key, delivery("resolved", start))
    finally:
        server.stop()
    for name, result in (("firing", firing), ("resolved", resolved)):
        if result["accepted"] != ALERTS:
            sys.exit(f"{name}: accepted {result['accepted']} of {ALERTS}")
    print(f"alertmanager: {ALERTS} firing alerts in one delivery: {firing_s:.3f} s", flush=True)
    print(f"alertmanager: the same {ALERTS} resolved: {resolved_s:.3f} s", flush=True)
    print(
        json.dumps(
            {
                "alertmanager_1000_s": round(firing_s, 3),
                "alertmanager_1000_resolved_s": round(resolved_s, 3),
            }
        )
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
