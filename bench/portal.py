"""Agreement page throughput: 20 agreements with three months of demo measurements in a
PostgreSQL database of its own (sla_bench_portal), served by gunicorn, loaded by 16
concurrent keep-alive clients with a signed-in session for a bounded time; in the same
run the ceiling, a trivial Django view on the same server (routed only because
PORTAL_BENCH_TRIVIAL=true), loaded the same way.

The public status page (/status/) is loaded the same way, without a session, with
50 public services and 90 days of incidents: it gets the traffic during an outage. Its
clients send ``Accept-Encoding: gzip`` as every browser does; the same load without it
is measured too (``status_identity_*``).

Last line: {"page_rps", "page_p50_ms", "page_p95_ms", "trivial_rps", "ratio",
"status_rps", "status_p95_ms", "status_ratio", "status_identity_rps",
"status_identity_ratio"} (ratio = page_rps / trivial_rps, status_ratio = status_rps /
trivial_rps). BENCH_PORTAL_DATABASE names the database
(default sla_bench_portal).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Server, bench_database_url, environment, manage, recreate_database

AGREEMENTS = 20
STATUS_SERVICES = 50
DATABASE = os.environ.get("BENCH_PORTAL_DATABASE", "sla_bench_portal")
USERS = 16
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(max(2, min(8, os.cpu_count() or 2)))))

SEED = r"""
import copy, datetime as dt
from pathlib import Path
from django.utils import timezone
from django.contrib.auth import get_user_model
from agreements.document import load_document
from agreements.models import Agreement, Customer, Membership, Service
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.recompute import recompute_agreement
from metrics.models import ProbeDay, ProbeHour, ProbeLatencyDay, ProbeLatencyHour, ProbeMinute, ProbeResult, EventCount, EventMinute, Incident, Maintenance
from portal.management.commands.seed_demo import demo_start
from portal.demo_data import load_measurements

# The demo measurements once, for the demo services; then copied to 19 more services so
# each agreement reads its own rows.
base = load_document(Path("portal/demo/acme-hosting.yaml").read_text())
base["effective_from"] = demo_start(timezone.now().date()).isoformat()
agreement_import(data=copy.deepcopy(base), actor="bench")
Service.objects.get_or_create(key="storefront")
for key in ("globex", "internal-marketing"):
    Customer.objects.get_or_create(key=key, defaults={"name": key})
load_measurements(timezone.now())
from django.db import connection
models = [ProbeResult, ProbeMinute, ProbeHour, ProbeDay, ProbeLatencyDay, ProbeLatencyHour, EventCount, EventMinute, Incident, Maintenance]
for n in range(1, %(count)d):
    doc = copy.deepcopy(base)
    doc["agreement"] = f"bench-{n:02d}"
    doc["customer"] = {"key": f"bench-{n:02d}", "name": f"Bench customer {n:02d}"}
    doc.pop("services", None)
    for o in doc["objectives"]:
        if o.get("service"):
            o["service"] = f"{o['service']}-{n:02d}"
    agreement_import(data=doc, actor="bench")
    for src in ("hosted-api", "backbone"):
        old = Service.objects.get(key=src).pk
        new = Service.objects.get(key=f"{src}-{n:02d}").pk
        with connection.cursor() as cursor:
            for model in models:
                cols = [f.column for f in model._meta.concrete_fields if f.column not in ("id", "service_id")]
                names = ", ".join(connection.ops.quote_name(c) for c in cols)
                cursor.execute(
                    f"INSERT INTO {model._meta.db_table} (service_id, {names}) "
                    f"SELECT %%s, {names} FROM {model._meta.db_table} WHERE service_id = %%s",
                    [new, old],
                )
close_due_periods()
for agreement_id in Agreement.objects.values_list("id", flat=True):
    recompute_agreement(agreement_id=agreement_id)
# The status page: 50 public services, each with an incident a week for 90 days,
# alternately an outage and a degraded one, and an update on each.
from metrics.models import IncidentStatusUpdate
now = timezone.now()
for n in range(%(status)d):
    service, _ = Service.objects.update_or_create(
        key=f"status-{n:02d}", defaults={"name": f"Public service {n:02d}", "public": True}
    )
    made = Incident.objects.bulk_create(
        Incident(service=service, external_id=f"S{n}-{d}", title=f"Incident {d}",
                 impact="outage" if d %% 2 else "degraded",
                 started_at=now - dt.timedelta(days=d, hours=3),
                 resolved_at=now - dt.timedelta(days=d, hours=2))
        for d in range(1, 90, 7)
    )
    IncidentStatusUpdate.objects.bulk_create(
        IncidentStatusUpdate(incident=i, at=i.resolved_at, status="resolved", message="Fixed.")
        for i in made
    )
User = get_user_model()
user = User.objects.create_user("bench-viewer", password="bench-portal-2026")
Membership.objects.create(user=user, customer=Customer.objects.get(key="acme"), role="viewer")
print(Agreement.objects.count(), "agreements,", ProbeResult.objects.count(), "probe results")
"""


def login(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf and token, "no CSRF token on the login page"
    body = urlencode(
        {
            "username": "bench-viewer",
            "password": "bench-portal-2026",
            "csrfmiddlewaretoken": token[1],
        }
    )
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf[1]}",
        },
    )
    response = conn.getresponse()
    response.read()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie") or "")
    assert response.status == 302 and session, f"sign-in failed ({response.status})"
    return f"sessionid={session[1]}"


def load(
    port: int, path: str, cookie: str, seconds: float, encoding: str = ""
) -> tuple[float, list[float]]:
    """USERS threads, each one keep-alive connection, requesting ``path`` until time is up."""
    latencies: list[list[float]] = [[] for _ in range(USERS)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def user(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = latencies[index]
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            headers = {"Cookie": cookie}
            if encoding:
                headers["Accept-Encoding"] = encoding
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{path}: {response.status}")
                return
            mine.append(time.perf_counter() - began)
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(USERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"errors under load: {errors[:3]}")
    return elapsed, [x for xs in latencies for x in xs]


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    base = urlsplit(bench_database_url())
    url = urlunsplit(base._replace(path=f"/{DATABASE}"))
    print(f"database: {base.hostname}/{DATABASE} (recreated)", flush=True)
    recreate_database(url)
    env = environment(url, PORTAL_BENCH_TRIVIAL="true", ALLOWED_HOSTS="127.0.0.1,localhost")
    manage(env, "migrate", "--noinput", "-v", "0")
    began = time.perf_counter()
    seeded = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            SEED % {"count": AGREEMENTS, "status": STATUS_SERVICES},
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if seeded.returncode:
        sys.exit(f"seeding failed:\n{seeded.stderr[-3000:]}")
    print(
        f"seeded in {time.perf_counter() - began:.0f} s: {seeded.stdout.strip().splitlines()[-1]}"
    )
    cache = "Redis" if env.get("REDIS_URL") else "file"
    print(
        f"gunicorn: {WORKERS} sync workers, {cache} cache; {USERS} users for {SECONDS:.0f} s each"
    )
    server = Server(env, workers=WORKERS)
    try:
        cookie = login(server.port)
        page = "/agreements/acme-hosting/"
        load(server.port, page, cookie, 2)  # warm up: workers connect, the cache fills
        elapsed, page_latencies = load(server.port, page, cookie, SECONDS)
        page_rps = len(page_latencies) / elapsed
        p50 = quantile(page_latencies, 50) * 1000
        p95 = quantile(page_latencies, 95) * 1000
        print(f"agreement page: {page_rps:.0f} req/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        load(server.port, "/status/", "", 2, "gzip")
        elapsed, status_latencies = load(server.port, "/status/", "", SECONDS, "gzip")
        status_rps = len(status_latencies) / elapsed
        status_p95 = quantile(status_latencies, 95) * 1000
        print(f"status page (gzip): {status_rps:.0f} req/s, p95 {status_p95:.1f} ms")
        elapsed, identity_latencies = load(server.port, "/status/", "", SECONDS)
        identity_rps = len(identity_latencies) / elapsed
        print(f"status page (uncompressed): {identity_rps:.0f} req/s")
        load(server.port, "/bench/trivial", cookie, 1)
        elapsed, trivial_latencies = load(server.port, "/bench/trivial", cookie, SECONDS)
        trivial_rps = len(trivial_latencies) / elapsed
        print(f"trivial view (ceiling): {trivial_rps:.0f} req/s")
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "page_rps": round(page_rps, 1),
                "page_p50_ms": round(p50, 1),
                "page_p95_ms": round(p95, 1),
                "trivial_rps": round(trivial_rps, 1),
                "ratio": round(page_rps / trivial_rps, 3),
                "status_rps": round(status_rps, 1),
                "status_p95_ms": round(status_p95, 1),
                "status_ratio": round(status_rps / trivial_rps, 3),
                "status_identity_rps": round(identity_rps, 1),
                "status_identity_ratio": round(identity_rps / trivial_rps, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
