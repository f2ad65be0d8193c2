"""Recompute cost against the ceiling of one plain aggregate over the same rows.

100 services, a month of 1-minute probes from 2 locations (about 9 million rows) in
PostgreSQL, 100 agreements of 3 objectives (availability always, availability in
business hours, latency). Measures (a) a full recompute of every open period, (b) an
incremental recompute after one more minute of data arrives for every service, and (c)
the ceiling: one plain SQL GROUP BY service counting ok/failed probes over the same rows.

Last line: {"full_s", "incremental_s", "ceiling_s", "full_ratio", "incremental_ratio"} plus
the incremental recompute when one minute arrives for one service only.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bench_database_url, environment, recreate_database

SERVICES = int(os.environ.get("BENCH_SERVICES", "100"))
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def setup_django(url: str) -> None:
    os.environ.update(environment(url))
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def document(i: int, start: dt.date) -> dict:
    return {
        "agreement": f"bench-{i:03d}",
        "customer": {"key": f"customer-{i:03d}", "name": f"Customer {i}"},
        "name": f"Bench agreement {i}",
        "timezone": ["Europe/Berlin", "America/New_York", "Asia/Kolkata"][i % 3],
        "effective_from": start.isoformat(),
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "calendars": {
            "business-hours": {
                "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
            }
        },
        "objectives": [
            {
                "key": "availability",
                "service": f"svc-{i:03d}",
                "indicator": "availability",
                "target": 99.9,
                "credits": [{"below": 99.9, "percent": 10}],
            },
            {
                "key": "business-availability",
                "service": f"svc-{i:03d}",
                "indicator": "availability",
                "target": 99.95,
                "coverage": "business-hours",
            },
            {
                "key": "latency",
                "service": f"svc-{i:03d}",
                "indicator": "latency",
                "threshold_ms": 200,
                "target": 95,
            },
        ],
    }


def load(now: dt.datetime) -> None:
    from django.db import connection

    from agreements.engine import minute_state_sql
    from agreements.services import agreement_import
    from metrics import partitions

    start = (now - dt.timedelta(days=DAYS)).replace(second=0, microsecond=0)
    for i in range(SERVICES):
        agreement_import(data=document(i, dt.date(start.year, start.month, 1)), actor="bench")
    partitions.ensure_partitions(start.date(), now.date())
    minutes = DAYS * 24 * 60
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, key FROM agreements_service ORDER BY key")
        ids = [row[0] for row in cursor.fetchall()]
        # Generated in the database: a pseudo-random 0.1 % of failures, one outage of 30 to
        # 90 minutes per service, and latencies around 120 ms with a slow tail.
        cursor.execute(
            """
            INSERT INTO metrics_proberesult (service_id, probe, ts, ok, latency_ms, late, received_at)
            SELECT s.id, p.name, %s + make_interval(mins => m, secs => p.offset_s),
                   ok, CASE WHEN ok THEN 60 + (abs(hashtext(s.id || ':' || m || p.name)) %% 200) END,
                   false, now()
            FROM unnest(%s::bigint[]) AS s(id)
            CROSS JOIN (VALUES ('eu-west', 10), ('us-east', 40)) AS p(name, offset_s)
            CROSS JOIN generate_series(0, %s - 1) AS m
            CROSS JOIN LATERAL (SELECT NOT (
                abs(hashtext(m || p.name || s.id)) %% 1000 = 0
                OR m BETWEEN (s.id * 397) %% %s AND (s.id * 397) %% %s + 30 + s.id %% 60
            ) AS ok) f
            """,
            [start, ids, minutes, minutes - 200, minutes - 200],
        )
        print(
            f"generated {cursor.rowcount:,} probe results in {time.perf_counter() - began:.0f} s",
            flush=True,
        )
        # The summaries ingestion maintains, built here in one pass over the same rows.
        cursor.execute(
            "INSERT INTO metrics_probeminute (service_id, minute, ok, failed) "
            "SELECT service_id, date_trunc('minute', ts), count(*) FILTER (WHERE ok), "
            "count(*) FILTER (WHERE NOT ok) FROM metrics_proberesult GROUP BY 1, 2"
        )
        up, down = minute_state_sql("ok", "failed")  # rule 4, from its one home
        cursor.execute(
            "INSERT INTO metrics_probeday (service_id, day, up, down, probes_ok, probes_failed) "
            "SELECT service_id, (minute AT TIME ZONE 'UTC')::date, "
            f"count(*) FILTER (WHERE {up}), count(*) FILTER (WHERE {down}), sum(ok), sum(failed) "
            "FROM metrics_probeminute GROUP BY 1, 2"
        )
        cursor.execute(
            "INSERT INTO metrics_probehour (service_id, hour, up, down) "
            "SELECT service_id, date_trunc('hour', minute), "
            f"count(*) FILTER (WHERE {up}), count(*) FILTER (WHERE {down}) "
            "FROM metrics_probeminute GROUP BY 1, 2"
        )
        cursor.execute(
            "INSERT INTO metrics_probelatencyhour (service_id, hour, threshold_ms, fast, total) "
            "SELECT service_id, date_trunc('hour', ts), 200, count(*) FILTER (WHERE latency_ms <= 200), "
            "count(*) FROM metrics_proberesult WHERE ok AND latency_ms IS NOT NULL GROUP BY 1, 2"
        )
        cursor.execute(
            "INSERT INTO metrics_latencythreshold (service_id, threshold_ms, created_at) "
            "SELECT id, 200, now() FROM agreements_service"
        )
        cursor.execute(
            "INSERT INTO metrics_probelatencyday (service_id, day, threshold_ms, fast, total) "
            "SELECT service_id, (ts AT TIME ZONE 'UTC')::date, 200, count(*) FILTER (WHERE latency_ms <= 200), "
            "count(*) FROM metrics_proberesult WHERE ok AND latency_ms IS NOT NULL GROUP BY 1, 2"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"loaded and summarised in {time.perf_counter() - began:.0f} s", flush=True)


def _recompute(batch: list[int]) -> None:
    from credits.recompute import recompute_agreements

    recompute_agreements(agreement_ids=batch)


def _connect(_: int) -> None:
    from django.db import connection

    connection.ensure_connection()
    time.sleep(0.2)  # so that each worker takes one of these


def start_workers() -> Any:
    """Long-lived worker processes with their own database connection, as Celery's."""
    from django.db import connections

    connections.close_all()
    pool = multiprocessing.get_context("fork").Pool(WORKERS)
    pool.map(_connect, range(WORKERS), chunksize=1)
    return pool


def recompute_all(pool: Any, ids: list[int]) -> float:
    """As beat's fan-out does it: the same batches (credits.recompute.batches), shared by the
    workers."""
    from credits.recompute import batches

    began = time.perf_counter()
    pool.map(_recompute, batches(ids), chunksize=1)
    return time.perf_counter() - began


def ceiling() -> float:
    from django.db import connection

    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT service_id, count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) "
                "FROM metrics_proberesult GROUP BY service_id"
            )
            cursor.fetchall()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    url = bench_database_url().rsplit("/", 1)[0] + "/sla_bench_recompute"
    print(f"database: {url.rsplit('@', 1)[-1]}", flush=True)
    # BENCH_REUSE=true measures again on the data of the previous run (same code version).
    reuse = os.environ.get("BENCH_REUSE", "").lower() in ("1", "true", "yes")
    if not reuse:
        recreate_database(url)
    from subprocess import run

    run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=environment(url),
        check=True,
    )
    setup_django(url)
    from django.utils import timezone

    from agreements.models import Agreement, Service
    from credits.closing import close_due_periods
    from credits.models import Period
    from metrics.services import probes_ingest

    now = timezone.now()
    if not reuse:
        load(now)
    # Periods whose grace time has passed close first (as beat does); what stays open is
    # what the scheduled recompute evaluates.
    close_due_periods(now=now)
    Period.objects.filter(state="open").delete()
    ids = list(Agreement.objects.order_by("key").values_list("id", flat=True))

    ceiling_s = ceiling()
    print(f"ceiling: GROUP BY service over the raw probe results: {ceiling_s:.3f} s", flush=True)
    pool = start_workers()
    full_s = recompute_all(pool, ids)
    print(
        f"full recompute of every open period of {len(ids)} agreements: {full_s:.3f} s", flush=True
    )

    minute = timezone.now().replace(second=0, microsecond=0)
    services = list(Service.objects.values_list("id", flat=True))
    probes_ingest(
        rows=[
            (sid, probe, minute + dt.timedelta(seconds=s), True, 100.0)
            for sid in services
            for probe, s in (("eu-west", 10), ("us-east", 40))
        ],
        closed={},
    )
    incremental_s = recompute_all(pool, ids)
    pool.close()
    pool.join()
    print(
        f"incremental recompute after one more minute for every service: {incremental_s:.3f} s",
        flush=True,
    )

    # The common case: a batch for one service recomputes the one agreement using it.
    from credits.recompute import agreements_using, recompute_agreement

    minute += dt.timedelta(minutes=1)
    probes_ingest(
        rows=[(services[0], "eu-west", minute + dt.timedelta(seconds=10), True, 90.0)], closed={}
    )
    began = time.perf_counter()
    for agreement_id in agreements_using(service_ids=[services[0]]):
        recompute_agreement(agreement_id=agreement_id)
    one_s = time.perf_counter() - began
    print(f"incremental recompute after one more minute for one service: {one_s:.4f} s", flush=True)
    print(
        json.dumps(
            {
                "full_s": round(full_s, 3),
                "incremental_s": round(incremental_s, 3),
                "ceiling_s": round(ceiling_s, 3),
                "full_ratio": round(full_s / ceiling_s, 3),
                "incremental_ratio": round(incremental_s / ceiling_s, 3),
                "incremental_one_service_s": round(one_s, 4),
                "incremental_one_service_ratio": round(one_s / ceiling_s, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
