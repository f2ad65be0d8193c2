"""Ingestion throughput: 500,000 probe results in batches of 5,000 from two concurrent
clients against gunicorn with PostgreSQL on loopback, and in the same run the ceiling,
a plain COPY of the same rows into an equivalent bare table.

Then the same number of samples (rule 16: service, metric, ts, value) the same way, which
must go at no less than half the probe speed.

Last line: {"probes_per_s", "copy_rows_per_s", "ratio", "samples_per_s",
"samples_to_probes"} (ratio = probes_per_s / copy_rows_per_s; samples_to_probes =
samples_per_s / probes_per_s).
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Server, bench_database_url, environment, manage, recreate_database

TOTAL = int(os.environ.get("BENCH_PROBES", "500000"))
BATCH = 5000
CLIENTS = 2
SERVICES = 20


def make_rows() -> list[tuple[str, str, str, bool, float | None]]:
    """Realistic shape: every service probed once a minute from two locations."""
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(days=20)
    rows = []
    minutes = TOTAL // SERVICES // 2
    for s in range(SERVICES):
        for i in range(minutes):
            for p, probe in enumerate(("eu-west", "us-east")):
                ts = (
                    (start + dt.timedelta(minutes=i, seconds=10 + 30 * p))
                    .isoformat()
                    .replace("+00:00", "Z")
                )
                ok = (i * 7 + s + p) % 97 != 0
                rows.append((f"bench-{s}", probe, ts, ok, 87.5 + (i % 50) if ok else None))
    return rows


def make_samples(rows: list[tuple[str, str, str, bool, float | None]]) -> list[dict[str, Any]]:
    """As many samples as probe results, of the same services and instants: two metrics
    where the probes had two locations."""
    return [
        {
            "service": service,
            "metric": "throughput_mbps" if probe == "eu-west" else "hours_worked",
            "ts": ts,
            "value": f"{900 + (n % 97)}.{n % 1000:03d}",
        }
        for n, (service, probe, ts, _, _) in enumerate(rows)
    ]


def ceiling(
    url: str, rows: list[tuple[str, str, str, bool, float | None]], *, identity: bool
) -> tuple[float, float]:
    """A plain COPY of the same rows into an equivalent bare table: the same columns and,
    with ``identity``, the same identity key (what any store of probe results needs to
    refuse duplicates), but no partitions, summaries or application. Batch by batch as
    the clients send them, timed from the Python rows to the commit; best of three.
    Returns (rows/s including encoding, rows/s of the COPY statements alone)."""
    import psycopg2

    services = {f"bench-{i}": i + 1 for i in range(SERVICES)}
    null = "\\N"
    best_full = best_wire = 0.0
    conn = psycopg2.connect(url)
    with conn.cursor() as cursor:
        key = ", UNIQUE (service_id, ts, probe)" if identity else ""
        cursor.execute(
            "CREATE TABLE bench_copy (service_id bigint, probe text, ts timestamptz, "
            f"ok boolean, latency_ms double precision{key})"
        )
        conn.commit()
        for _ in range(3):
            cursor.execute("TRUNCATE bench_copy")
            conn.commit()
            began = time.perf_counter()
            wire = 0.0
            for i in range(0, len(rows), BATCH):
                text = io.StringIO()
                for service, probe, ts, ok, latency in rows[i : i + BATCH]:
                    lat = null if latency is None else latency
                    text.write(f"{services[service]}\t{probe}\t{ts}\t{'t' if ok else 'f'}\t{lat}\n")
                text.seek(0)
                mark = time.perf_counter()
                cursor.copy_expert("COPY bench_copy FROM STDIN", text)
                conn.commit()
                wire += time.perf_counter() - mark
            full = time.perf_counter() - began
            best_full = max(best_full, len(rows) / full)
            best_wire = max(best_wire, len(rows) / wire)
        cursor.execute("DROP TABLE bench_copy")
        conn.commit()
    conn.close()
    return best_full, best_wire


def main() -> None:
    url = bench_database_url()
    print(f"database: {url.rsplit('@', 1)[-1]}", flush=True)
    recreate_database(url)
    env = environment(url, API_RATE_PER_MINUTE="1000000")
    manage(env, "migrate", "--noinput", "-v", "0")
    code = (
        "from agreements.models import Service; from metrics import partitions; import datetime as dt;"
        f"[Service.objects.get_or_create(key=f'bench-{{i}}') for i in range({SERVICES})];"
        "t=dt.date.today(); partitions.ensure_partitions(partitions.add_months(t,-2), partitions.add_months(t,1))"
    )
    manage(env, "shell", "-c", code)
    key = manage(env, "create_api_key", "bench", "--scope", "ingest").strip().splitlines()[-1]

    rows = make_rows()
    bodies = [
        json.dumps(
            [
                {"service": r[0], "probe": r[1], "ts": r[2], "ok": r[3], "latency_ms": r[4]}
                for r in rows[i : i + BATCH]
            ]
        ).encode()
        for i in range(0, len(rows), BATCH)
    ]
    print(
        f"{len(rows)} probe results in {len(bodies)} batches of {BATCH}, {CLIENTS} clients",
        flush=True,
    )

    server = Server(env, workers=int(os.environ.get("BENCH_WORKERS", "3")))
    errors: list[str] = []
    accepted = [0]
    lock = threading.Lock()

    path = ["/api/v1/probes/"]

    def client(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        for body in mine:
            conn.request(
                "POST",
                path[0],
                body=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
            )
            response = conn.getresponse()
            payload = response.read()
            if response.status != 201:
                errors.append(f"{response.status}: {payload[:300]!r}")
                return
            with lock:
                accepted[0] += json.loads(payload)["accepted"]
        conn.close()

    try:
        # Warm-up (connections, imports) on a separate service, not counted.
        warm = json.dumps(
            [{"service": "bench-0", "ts": "2020-01-01T00:00:00Z", "ok": True, "latency_ms": 1}]
        ).encode()
        client([warm])
        accepted[0] = 0
        threads = [
            threading.Thread(target=client, args=(bodies[i::CLIENTS],)) for i in range(CLIENTS)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        if errors:
            sys.exit(f"ingestion failed: {errors[0]}")
        if accepted[0] != len(rows):
            sys.exit(f"accepted {accepted[0]} of {len(rows)}")
        probes_per_s = len(rows) / elapsed
        print(
            f"ingest: {len(rows)} probes in {elapsed:.2f} s = {probes_per_s:,.0f} probes/s",
            flush=True,
        )
        samples = make_samples(rows)
        sample_bodies = [
            json.dumps(samples[i : i + BATCH]).encode() for i in range(0, len(samples), BATCH)
        ]
        path[0], accepted[0] = "/api/v1/samples/", 0
        threads = [
            threading.Thread(target=client, args=(sample_bodies[i::CLIENTS],))
            for i in range(CLIENTS)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sample_elapsed = time.perf_counter() - began
    finally:
        server.stop()
    if errors:
        sys.exit(f"sample ingestion failed: {errors[0]}")
    if accepted[0] != len(samples):
        sys.exit(f"accepted {accepted[0]} of {len(samples)} samples")
    samples_per_s = len(samples) / sample_elapsed
    print(
        f"ingest: {len(samples)} samples in {sample_elapsed:.2f} s = {samples_per_s:,.0f} "
        f"samples/s ({samples_per_s / probes_per_s:.2f} of the probe speed)",
        flush=True,
    )

    copy_rows_per_s, wire = ceiling(url, rows, identity=True)
    print(
        f"ceiling: COPY of the same rows into a table with the same columns and identity key: "
        f"{copy_rows_per_s:,.0f} rows/s from Python rows to commit ({wire:,.0f} rows/s for "
        f"the COPY statements alone)",
        flush=True,
    )
    bare_rows_per_s, bare_wire = ceiling(url, rows, identity=False)
    print(
        f"for reference, with no key at all: {bare_rows_per_s:,.0f} rows/s "
        f"({bare_wire:,.0f} rows/s for the COPY statements alone)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "probes_per_s": round(probes_per_s),
                "copy_rows_per_s": round(copy_rows_per_s),
                "ratio": round(probes_per_s / copy_rows_per_s, 3),
                "bare_copy_rows_per_s": round(bare_rows_per_s),
                "ratio_vs_bare": round(probes_per_s / bare_rows_per_s, 3),
                "samples_per_s": round(samples_per_s),
                "samples_to_probes": round(samples_per_s / probes_per_s, 3),
            }
        )
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
