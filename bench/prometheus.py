"""Prometheus pull throughput: one day of probe success and latency for 100 services
(1,440 samples per series, 144,000 of each kind) read from a fake Prometheus on loopback
with ``manage.py pull_prometheus`` (its whole run, start-up included), against posting
the same rows to ``/api/v1/probes/`` (batches of 10,000, two clients, gunicorn with
PostgreSQL on loopback). Target: the pull stores at no less than half the posting rate.

Last line: {"pull_rows_per_s", "post_rows_per_s", "ratio"} (ratio = pull / post).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import ROOT, Server, bench_database_url, environment, manage, recreate_database

from tests.integrations.fake_prometheus import FakePrometheus

SERVICES = 100
STEPS = 1440
BATCH = 10_000
CLIENTS = 2


def success(service: int) -> str:
    return f'probe_success{{service="pull-{service}"}}'


def latency(service: int) -> str:
    return f'probe_duration_seconds{{service="pull-{service}"}}'


def is_up(service: int, second: int) -> bool:
    # Each service fails a minute in 97.
    return (second // 60 + service) % 97 != 0


def seconds_of(second: int) -> float:
    return 0.05 + (second // 60 % 50) / 1000


def main() -> None:
    url = bench_database_url()
    print(f"database: {url.rsplit('@', 1)[-1]}", flush=True)
    recreate_database(url)
    env = environment(url, API_RATE_PER_MINUTE="1000000")
    manage(env, "migrate", "--noinput", "-v", "0")

    last = int(time.time()) // 60 * 60
    first = last - (STEPS - 1) * 60
    fake = FakePrometheus()
    for i in range(SERVICES):
        labels = {"service": f"pull-{i}", "probe": "eu-west"}

        def up(s: int, i: int = i) -> str | None:
            return ("1" if is_up(i, s) else "0") if first <= s <= last else None

        def took(s: int) -> str | None:
            return repr(seconds_of(s)) if first <= s <= last else None

        fake.series[success(i)] = [(labels, up)]
        fake.series[latency(i)] = [(labels, took)]

    setup = (
        "from agreements.models import Service; from metrics import partitions;"
        "from integrations.models import PrometheusSource, PrometheusQuery; import datetime as dt;"
        f"src=PrometheusSource.objects.create(name='prometheus', base_url='{fake.url}');"
        f"[Service.objects.get_or_create(key=f'post-{{i}}') for i in range({SERVICES})];"
        "[PrometheusQuery.objects.create(source=src, service=Service.objects.get_or_create("
        "key=f'pull-{i}')[0], probe_success='probe_success{service=\"pull-'+str(i)+'\"}', "
        "probe_latency_seconds='probe_duration_seconds{service=\"pull-'+str(i)+'\"}') "
        f"for i in range({SERVICES})];"
        "t=dt.date.today(); partitions.ensure_partitions(partitions.add_months(t,-2), partitions.add_months(t,1))"
    )
    manage(env, "shell", "-c", setup)
    key = manage(env, "create_api_key", "bench", "--scope", "ingest").strip().splitlines()[-1]
    rows = STEPS * SERVICES
    print(f"{rows} probe results per way: {SERVICES} services x {STEPS} minutes", flush=True)

    since = dt.datetime.fromtimestamp(first, tz=dt.UTC).isoformat()
    began = time.perf_counter()
    output = manage(env, "pull_prometheus", "--since", since)
    pull_s = time.perf_counter() - began
    fake.stop()
    print(output.strip(), flush=True)
    if f"prometheus: {rows} stored" not in output:
        sys.exit(f"the pull stored other than {rows} rows: {output.strip()}")
    pull_rate = rows / pull_s
    print(f"pull: {rows} probes in {pull_s:.2f} s = {pull_rate:,.0f} rows/s", flush=True)

    records = [
        {
            "service": f"post-{i}",
            "probe": "eu-west",
            "ts": dt.datetime.fromtimestamp(s, tz=dt.UTC).isoformat().replace("+00:00", "Z"),
            "ok": is_up(i, s),
            "latency_ms": seconds_of(s) * 1000,
        }
        for i in range(SERVICES)
        for s in range(first, last + 1, 60)
    ]
    bodies = [json.dumps(records[j : j + BATCH]).encode() for j in range(0, rows, BATCH)]
    server = Server(env, workers=CLIENTS)
    errors: list[str] = []

    def client(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        for body in mine:
            conn.request(
                "POST",
                "/api/v1/probes/",
                body=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
            )
            response = conn.getresponse()
            payload = response.read()
            if response.status != 201:
                errors.append(f"{response.status}: {payload[:300]!r}")
                return
        conn.close()

    try:
        threads = [
            threading.Thread(target=client, args=(bodies[i::CLIENTS],)) for i in range(CLIENTS)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        post_s = time.perf_counter() - began
    finally:
        server.stop()
    if errors:
        sys.exit(f"posting failed: {errors[0]}")
    post_rate = rows / post_s
    print(f"post: {rows} probes in {post_s:.2f} s = {post_rate:,.0f} rows/s", flush=True)
    print(
        json.dumps(
            {
                "pull_rows_per_s": round(pull_rate),
                "post_rows_per_s": round(post_rate),
                "ratio": round(pull_rate / post_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
