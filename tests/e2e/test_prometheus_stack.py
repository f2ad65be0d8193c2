"""Against the real thing: Prometheus, the blackbox exporter and Alertmanager (Debian's
``prometheus``, ``prometheus-blackbox-exporter``, ``prometheus-alertmanager``) run with
second-scale intervals. The exporter probes a loopback HTTP server that the test stops
across a minute boundary and restarts; the portal pulls ``probe_success`` from
Prometheus, and a rule fires through Alertmanager's webhook into the portal. The outage
then shows in the probe-based and in the incident-based figure."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from agreements.models import Service
from agreements.services import agreement_import
from credits.models import Evaluation
from credits.recompute import recompute_agreement
from integrations.models import PrometheusQuery, PrometheusSource
from integrations.prometheus import source_pull
from metrics.models import Incident, ProbeResult
from tests.conftest import make_key

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
UTC = dt.UTC
BINARIES = ("prometheus", "prometheus-blackbox-exporter", "prometheus-alertmanager")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Target:
    """The probed site: a loopback HTTP server answering 200, stopped and restarted on
    the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: HTTPServer | None = None

    def start(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None


def wait_for(what: str, check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


@pytest.fixture
def stack(tmp_path: Path, live_server: Any, transactional_db: Any) -> Iterator[dict[str, Any]]:
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        pytest.fail(f"install Debian's {' '.join(BINARIES)}: missing {', '.join(missing)}")
    key = make_key(["ingest"])
    target = Target()
    target.start()
    ports = {name: free_port() for name in ("blackbox", "prometheus", "alertmanager")}
    (tmp_path / "blackbox.yml").write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 1s\n"
    )
    (tmp_path / "rules.yml").write_text(
        "groups:\n"
        "  - name: sla\n"
        "    rules:\n"
        "      - alert: ProbeFailure\n"
        "        expr: probe_success == 0\n"
        "        labels: {severity: critical}\n"
        "        annotations: {summary: 'API probe failure'}\n"
    )
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [rules.yml]\n"
        "alerting:\n"
        "  alertmanagers:\n"
        f"    - static_configs: [{{targets: ['127.0.0.1:{ports['alertmanager']}']}}]\n"
        "scrape_configs:\n"
        "  - job_name: blackbox\n"
        "    metrics_path: /probe\n"
        "    params: {module: [http_2xx]}\n"
        "    static_configs:\n"
        f"      - targets: ['http://127.0.0.1:{target.port}/']\n"
        "        labels: {service: api, probe: loopback}\n"
        "    relabel_configs:\n"
        "      - {source_labels: [__address__], target_label: __param_target}\n"
        "      - {source_labels: [__param_target], target_label: instance}\n"
        f"      - {{target_label: __address__, replacement: '127.0.0.1:{ports['blackbox']}'}}\n"
    )
    (tmp_path / "alertmanager.yml").write_text(
        "route:\n"
        "  receiver: sla-portal\n"
        "  group_by: [alertname, service]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: sla-portal\n"
        "    webhook_configs:\n"
        f"      - url: {live_server.url}/api/v1/integrations/alertmanager/\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        f"          authorization: {{type: Bearer, credentials: '{key}'}}\n"
    )
    commands = [
        [
            "prometheus-blackbox-exporter",
            f"--config.file={tmp_path / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{ports['blackbox']}",
        ],
        [
            "prometheus-alertmanager",
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
            "--cluster.listen-address=",
        ],
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        ],
    ]
    processes = []
    logs = []
    for command in commands:
        log = (tmp_path / f"{command[0]}.log").open("wb")
        logs.append(log)
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    try:
        yield {"target": target, "key": key, "ports": ports, "tmp": tmp_path}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        if target.server is not None:
            target.stop()


def test_an_outage_seen_by_blackbox_shows_in_probe_and_incident_figures(
    stack: dict[str, Any],
) -> None:
    today = timezone.now().astimezone(UTC).date()
    agreement = agreement_import(
        data={
            "agreement": "shop",
            "customer": {"key": "shop-co", "name": "Shop Co"},
            "name": "Shop",
            "timezone": "UTC",
            "effective_from": today.replace(day=1).isoformat(),
            "currency": "EUR",
            "monthly_fee": "1000.00",
            "objectives": [
                {
                    "key": "api-probed",
                    "service": "api",
                    "indicator": "availability",
                    "source": "probes",
                    "target": 99.9,
                },
                {
                    "key": "api-incidents",
                    "service": "api",
                    "indicator": "availability",
                    "source": "incidents",
                    "target": 99.9,
                },
            ],
        }
    ).agreement
    prometheus_url = f"http://127.0.0.1:{stack['ports']['prometheus']}"
    source = PrometheusSource.objects.create(name="prometheus", base_url=prometheus_url)
    PrometheusQuery.objects.create(
        source=source,
        service=Service.objects.get(key="api"),
        probe_success='probe_success{job="blackbox"}',
        probe_latency_seconds='probe_duration_seconds{job="blackbox"}',
    )
    began = timezone.now()

    def probed_up() -> bool:
        answer = get_json(f"{prometheus_url}/api/v1/query?query=probe_success")
        return any(r["value"][1] == "1" for r in answer["data"]["result"])

    wait_for("Prometheus to scrape a successful probe", probed_up, 30)
    # Stop the site five seconds before the next minute boundary (at least five seconds
    # from now) and restart it five seconds after: the step at that minute reads 0.
    now = time.time()
    boundary = (int(now + 10) // 60 + 1) * 60
    time.sleep(max(0.0, boundary - 5 - time.time()))
    stack["target"].stop()
    time.sleep(max(0.0, boundary + 5 - time.time()))
    stack["target"].start()
    down_minute = dt.datetime.fromtimestamp(boundary, tz=UTC)

    wait_for(
        "Alertmanager to deliver the firing alert",
        lambda: Incident.objects.filter(service__key="api").exists(),
        30,
    )
    incident = wait_for(
        "Alertmanager to deliver the resolved alert",
        lambda: Incident.objects.filter(service__key="api", resolved_at__isnull=False).first(),
        30,
    )
    assert incident.impact == "outage"
    # Fired while the site was down, resolved once it answered again.
    assert down_minute - dt.timedelta(seconds=5) <= incident.started_at
    assert incident.started_at < down_minute + dt.timedelta(seconds=5)
    assert down_minute + dt.timedelta(seconds=5) < incident.resolved_at
    assert incident.resolved_at <= down_minute + dt.timedelta(seconds=30)

    # The down minute must have passed for the probe figure to count it (rule 4).
    time.sleep(max(0.0, boundary + 62 - time.time()))
    result = source_pull(source, since=began)
    assert result.error == ""
    assert ProbeResult.objects.get(ts=down_minute).ok is False
    assert ProbeResult.objects.get(ts=down_minute).probe == "loopback"
    assert ProbeResult.objects.filter(ts=down_minute + dt.timedelta(minutes=1)).get().ok is True

    recompute_agreement(agreement_id=agreement.pk, period=f"{today:%Y-%m}")
    probed = Evaluation.objects.get(objective_key="api-probed")
    rows = ProbeResult.objects.filter(ts__lt=timezone.now().replace(second=0, microsecond=0))
    up, down = rows.filter(ok=True).count(), rows.filter(ok=False).count()
    assert down == 1
    assert probed.achieved is not None
    assert abs(probed.achieved - Decimal(100 * up) / Decimal(up + down)) < Decimal("0.0001")
    by_incidents = Evaluation.objects.get(objective_key="api-incidents")
    assert by_incidents.achieved is not None and by_incidents.achieved < 100
    outage = (incident.resolved_at - incident.started_at).total_seconds()
    assert abs(float(by_incidents.bad) - outage) < 1
