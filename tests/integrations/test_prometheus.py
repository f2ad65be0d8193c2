"""Pulling probe results and event counts from Prometheus's range-query API (SPEC §4,
Integrations, Pull), against a fake Prometheus served on loopback."""

from __future__ import annotations

import base64
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from agreements.models import Service
from agreements.services import agreement_import
from credits.models import Evaluation
from credits.recompute import recompute_agreement
from integrations import prometheus
from integrations.models import PrometheusQuery, PrometheusSource
from metrics.models import EventCount, IngestionBatch, ProbeResult
from tests.integrations.conftest import MARCH, NOW, shop_doc
from tests.integrations.fake_prometheus import FakePrometheus

pytestmark = pytest.mark.django_db
UTC = dt.UTC
START = int(MARCH.timestamp())
# 10:00 to 10:29 on 2 March: the probe in Frankfurt fails.
DOWN_FROM = int(dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp())
DOWN_TO = DOWN_FROM + 29 * 60


@pytest.fixture
def fake() -> Any:
    server = FakePrometheus()
    yield server
    server.stop()


@pytest.fixture
def probes_doc(db: Any) -> Any:
    doc = shop_doc()
    doc["objectives"][0]["source"] = "probes"
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=doc).agreement


def blackbox(fake: FakePrometheus) -> None:
    """probe_success and probe_duration_seconds of two locations: Frankfurt names itself
    with a ``probe`` label, the other only with ``instance``."""
    fra = {"__name__": "probe_success", "instance": "https://api.shop.example", "probe": "fra"}
    other = {"__name__": "probe_success", "instance": "10.0.0.7:9115"}
    fake.series["probe_success"] = [
        (fra, lambda s: "0" if DOWN_FROM <= s <= DOWN_TO else "1"),
        (other, lambda s: "0" if DOWN_FROM <= s < DOWN_FROM + 600 else "1"),
    ]
    fake.series["probe_duration_seconds"] = [
        ({**fra, "__name__": "probe_duration_seconds"}, lambda s: "0.25"),
        ({**other, "__name__": "probe_duration_seconds"}, lambda s: "NaN" if s % 120 else "0.5"),
    ]


def add_source(fake: FakePrometheus, **over: Any) -> PrometheusSource:
    source = PrometheusSource.objects.create(name="prom", base_url=fake.url, **over)
    PrometheusQuery.objects.create(
        source=source,
        service=Service.objects.get(key="api"),
        probe_success="probe_success",
        probe_latency_seconds="probe_duration_seconds",
    )
    return source


def test_pull_stores_each_location_and_gives_the_hand_calculated_figure(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    source = add_source(fake)
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source, since=MARCH)
    # 00:00 on 1 March to 12:00 on 2 March, both included: 2161 steps, two locations.
    assert result.error == ""
    assert result.accepted == 2 * 2161
    assert ProbeResult.objects.count() == 2 * 2161
    assert set(ProbeResult.objects.values_list("probe", flat=True)) == {"fra", "10.0.0.7:9115"}
    assert ProbeResult.objects.filter(ok=False, probe="fra").count() == 30
    assert ProbeResult.objects.filter(ok=False).exclude(probe="fra").count() == 10
    fra = ProbeResult.objects.get(probe="fra", ts=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert fra.latency_ms == 250.0
    # NaN is no sample: the other location has a latency every other minute only.
    other = ProbeResult.objects.filter(probe="10.0.0.7:9115")
    assert other.filter(latency_ms=500.0).count() == 1081
    assert other.filter(latency_ms__isnull=True).count() == 1080
    batch = IngestionBatch.objects.filter(kind="probes").first()
    assert batch is not None and batch.source == "prom"
    source.refresh_from_db()
    assert source.state == PrometheusSource.State.OK
    assert source.pulled_until == NOW
    with time_machine.travel(NOW, tick=False):
        recompute_agreement(agreement_id=probes_doc.pk, period="2026-03")
    evaluation = Evaluation.objects.get(objective_key="api-up")
    assert evaluation.achieved is not None
    # Rule 4: a minute is down when more than half of its results failed: 10:00 to 10:09,
    # when both locations failed (10:10 to 10:29, one of two, is up). The minute of 12:00
    # has not passed, so 2160 minutes are eligible: 100 x 2150 / 2160.
    expected = Decimal(2150) / Decimal(2160) * 100
    assert abs(evaluation.achieved - expected) < Decimal("0.0001")


def test_reads_in_chunks_of_a_day_and_resumes_one_step_after_where_it_stopped(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    source = add_source(fake)
    with time_machine.travel(NOW, tick=False):
        prometheus.source_pull(source, since=MARCH)
    ranges = [(int(r["start"]), int(r["end"]), r["step"]) for r in fake.requests]
    day_end = START + 1439 * 60
    assert ranges == [
        (START, day_end, "60"),
        (START, day_end, "60"),
        (day_end + 60, int(NOW.timestamp()), "60"),
        (day_end + 60, int(NOW.timestamp()), "60"),
    ]
    fake.requests.clear()
    later = NOW + dt.timedelta(minutes=5, seconds=30)
    with time_machine.travel(later, tick=False):
        result = prometheus.source_pull(source)
    assert [(int(r["start"]), int(r["end"])) for r in fake.requests] == [
        (int(NOW.timestamp()) + 60, int(NOW.timestamp()) + 300)
    ] * 2
    assert result.accepted == 2 * 5
    assert result.duplicates == 0


def test_an_outage_of_prometheus_is_shown_and_caught_up_when_it_returns(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    source = add_source(fake)
    with time_machine.travel(NOW - dt.timedelta(hours=2), tick=False):
        prometheus.source_pull(source)
    stopped = source.pulled_until
    assert stopped == NOW - dt.timedelta(hours=2)
    before = ProbeResult.objects.count()
    fake.down = True
    with time_machine.travel(NOW - dt.timedelta(hours=1), tick=False):
        result = prometheus.source_pull(source)
    assert "HTTP 503" in result.error and "shutting down" in result.error
    source.refresh_from_db()
    assert source.state == PrometheusSource.State.FAILING
    assert "HTTP 503" in source.last_error
    assert source.pulled_until == stopped
    assert ProbeResult.objects.count() == before
    fake.down = False
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source)
    assert result.error == ""
    source.refresh_from_db()
    assert source.state == PrometheusSource.State.OK and source.last_error == ""
    assert source.pulled_until == NOW
    # Two hours of minutes, both locations, none missing and none twice.
    assert ProbeResult.objects.count() == before + 2 * 120
    assert result.accepted == 2 * 120


def test_a_refused_connection_fails_the_source_and_a_later_pull_catches_up(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    closed = FakePrometheus()
    closed.stop()  # its port now refuses connections
    source = add_source(fake)
    source.base_url = closed.url
    source.save()
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source, since=NOW - dt.timedelta(minutes=10))
    assert "unreachable" in result.error
    assert ProbeResult.objects.count() == 0
    source.refresh_from_db()
    assert source.state == PrometheusSource.State.FAILING and source.pulled_until is None
    source.base_url = fake.url
    source.save()
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source, since=NOW - dt.timedelta(minutes=10))
    assert result.accepted == 2 * 11


def test_pulling_the_same_range_twice_stores_nothing_new(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    source = add_source(fake)
    since = NOW - dt.timedelta(minutes=30)
    with time_machine.travel(NOW, tick=False):
        prometheus.source_pull(source, since=since)
        again = prometheus.source_pull(source, since=since)
    assert again.accepted == 0
    assert again.duplicates == 2 * 31
    assert ProbeResult.objects.count() == 2 * 31


@pytest.mark.parametrize(
    ("over", "header"),
    [
        ({"bearer_token": "s3cret"}, "Bearer s3cret"),
        (
            {"basic_username": "grafana", "basic_password": "pa:ss"},
            "Basic " + base64.b64encode(b"grafana:pa:ss").decode(),
        ),
    ],
)
def test_sends_the_bearer_token_or_basic_credentials(
    fake: FakePrometheus, probes_doc: Any, over: dict[str, str], header: str
) -> None:
    blackbox(fake)
    fake.authorization = header
    source = add_source(fake, **over)
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source, since=NOW - dt.timedelta(minutes=1))
    assert result.error == ""
    assert result.accepted == 4
    assert {r["authorization"] for r in fake.requests} == {header}


def test_wrong_credentials_are_named_in_the_error(fake: FakePrometheus, probes_doc: Any) -> None:
    blackbox(fake)
    fake.authorization = "Bearer right"
    source = add_source(fake, bearer_token="wrong")
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source)
    assert "HTTP 401" in result.error
    assert ProbeResult.objects.count() == 0


def test_a_query_prometheus_rejects_is_shown_with_its_error(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    source = add_source(fake)
    source.queries.update(probe_success="probe_success{")
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source)
    assert result.error == "Prometheus answered HTTP 400: bad_data: parse error"
    source.refresh_from_db()
    assert source.last_error == result.error


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<html>", "not JSON"),
        (b'{"status": "success", "data": {"resultType": "vector", "result": []}}', "no matrix"),
        (
            b'{"status": "success", "data": {"resultType": "matrix", "result": [{"values": [1]}]}}',
            "a sample is not",
        ),
    ],
)
def test_an_answer_that_is_no_matrix_stores_nothing_and_says_why(
    fake: FakePrometheus, probes_doc: Any, payload: bytes, message: str
) -> None:
    source = add_source(fake)

    def handler(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    fake._answer = handler  # type: ignore[method-assign]
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source)
    assert message in result.error
    assert ProbeResult.objects.count() == 0


def test_event_counts_are_summed_over_series_rounded_and_good_kept_within_total(
    fake: FakePrometheus, shop: Any
) -> None:
    fake.series["good"] = [
        ({"code": "200"}, lambda s: "40.4"),
        ({"code": "304"}, lambda s: "9.8" if s % 120 == 0 else None),
    ]
    fake.series["total"] = [({}, lambda s: "45.2" if s % 120 == 0 else "60")]
    source = PrometheusSource.objects.create(name="prom", base_url=fake.url)
    PrometheusQuery.objects.create(
        source=source,
        service=Service.objects.get(key="api"),
        kind="events",
        good="good",
        total="total",
    )
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source, since=NOW - dt.timedelta(minutes=3))
    assert result.error == ""
    counts = {(row.ts.minute, row.good, row.total) for row in EventCount.objects.order_by("ts")}
    # Even minutes: 40.4 + 9.8 = 50.2 good of 45.2 total, kept to 45; odd: 40 of 60.
    assert counts == {(57, 40, 60), (58, 45, 45), (59, 40, 60), (0, 45, 45)}


def test_a_service_measured_by_other_sources_is_skipped_and_named(
    fake: FakePrometheus, db: Any
) -> None:
    doc = shop_doc(measured_by=["blackbox-eu"])
    doc["objectives"][0]["source"] = "probes"
    with time_machine.travel(MARCH, tick=False):
        agreement_import(data=doc)
    blackbox(fake)
    source = add_source(fake)
    with time_machine.travel(NOW, tick=False):
        result = prometheus.source_pull(source)
    assert ProbeResult.objects.count() == 0
    assert result.skipped and "measured_by" in result.skipped[0]
    source.refresh_from_db()
    assert "measured_by" in source.last_error


def test_location_is_the_probe_label_else_the_instance() -> None:
    assert prometheus.location_of({"probe": "fra", "instance": "x"}) == "fra"
    assert prometheus.location_of({"instance": "10.0.0.1:9115"}) == "10.0.0.1:9115"
    assert prometheus.location_of({"job": "blackbox"}) == "default"
    assert prometheus.location_of({"probe": "a\nb" + "c" * 100}) == ("a b" + "c" * 100)[:64]


def test_prometheus_source_command_creates_then_updates(probes_doc: Any) -> None:
    out = io.StringIO()
    call_command(
        "prometheus_source",
        "prom",
        "--url",
        "http://127.0.0.1:9090",
        "--service",
        "api",
        "--probe-success",
        'probe_success{job="blackbox"}',
        "--probe-latency-seconds",
        'probe_duration_seconds{job="blackbox"}',
        stdout=out,
    )
    assert "Created prom" in out.getvalue()
    call_command(
        "prometheus_source",
        "prom",
        "--url",
        "http://127.0.0.1:9091",
        "--service",
        "api",
        "--good",
        "g",
        "--total",
        "t",
        "--bearer-token",
        "tok",
        stdout=out,
    )
    source = PrometheusSource.objects.get()
    query = source.queries.get()
    assert (source.base_url, source.bearer_token) == ("http://127.0.0.1:9091", "tok")
    assert (query.kind, query.good, query.total, query.probe_success) == ("events", "g", "t", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service", "api"], "either --probe-success or --good"),
        (["--service", "api", "--good", "g"], "--good and --total go together"),
        (["--service", "nope", "--probe-success", "q"], "unknown service 'nope'"),
        (
            ["--service", "api", "--probe-latency-seconds", "q", "--good", "g", "--total", "t"],
            "goes with",
        ),
    ],
)
def test_prometheus_source_command_refuses_what_is_incomplete(
    probes_doc: Any, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("prometheus_source", "prom", "--url", "http://127.0.0.1:9090", *args)
    assert not PrometheusSource.objects.exists()


def test_prometheus_source_command_refuses_a_url_that_is_no_url(probes_doc: Any) -> None:
    with pytest.raises(CommandError, match="base_url"):
        call_command(
            "prometheus_source",
            "prom",
            "--url",
            "ftp//x",
            "--service",
            "api",
            "--probe-success",
            "q",
        )
    assert not PrometheusSource.objects.exists()


def test_pull_prometheus_command_reads_now_and_fails_loudly(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    add_source(fake)
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("pull_prometheus", "--since", "2026-03-02T11:50:00Z", stdout=out)
    assert (
        "prom: 22 stored, 0 already there, read up to 2026-03-02T12:00:00+00:00" in out.getvalue()
    )
    fake.down = True
    later = NOW + dt.timedelta(minutes=2)
    with time_machine.travel(later, tick=False), pytest.raises(CommandError, match="HTTP 503"):
        call_command("pull_prometheus", "--source", "prom", stdout=out)
    with pytest.raises(CommandError, match="no Prometheus source named 'other'"):
        call_command("pull_prometheus", "--source", "other")
    with pytest.raises(CommandError, match="--since"):
        call_command("pull_prometheus", "--since", "yesterday")


def test_beat_pulls_every_minute() -> None:
    from django.conf import settings

    from portal.celery import beat_schedule

    entry = beat_schedule(settings)["pull-prometheus"]
    assert entry == {"task": "integrations.tasks.pull_prometheus", "schedule": 60.0}


def test_admin_shows_the_source_state_and_error(
    admin_client: Any, fake: FakePrometheus, probes_doc: Any
) -> None:
    source = add_source(fake)
    source.state = PrometheusSource.State.FAILING
    source.last_error = "Prometheus answered HTTP 503: unavailable: shutting down"
    source.save()
    page = admin_client.get("/admin/integrations/prometheussource/")
    assert page.status_code == 200
    assert b"shutting down" in page.content and b"failing" in page.content
    assert (
        admin_client.get(f"/admin/integrations/prometheussource/{source.pk}/change/").status_code
        == 200
    )


def test_the_beat_task_pulls_enabled_sources_once_at_a_time(
    fake: FakePrometheus, probes_doc: Any
) -> None:
    from django.core.cache import cache

    from integrations.tasks import PULL_LOCK, pull_prometheus

    blackbox(fake)
    source = add_source(fake)
    PrometheusSource.objects.create(name="off", base_url="http://127.0.0.1:1", enabled=False)
    cache.add(PULL_LOCK, 1)
    with time_machine.travel(NOW, tick=False):
        assert pull_prometheus() == 0
    assert fake.requests == []
    cache.delete(PULL_LOCK)
    with time_machine.travel(NOW, tick=False):
        assert pull_prometheus() == 2 * 61
    assert cache.get(PULL_LOCK) is None
    source.refresh_from_db()
    assert source.state == PrometheusSource.State.OK
    assert PrometheusSource.objects.get(name="off").state == PrometheusSource.State.NEW


def test_admin_pull_now_reads_the_chosen_sources_and_reports_each(
    admin_client: Any, fake: FakePrometheus, probes_doc: Any
) -> None:
    blackbox(fake)
    source = add_source(fake)
    broken = PrometheusSource.objects.create(name="broken", base_url="http://127.0.0.1:1")
    PrometheusQuery.objects.create(
        source=broken, service=Service.objects.get(key="api"), probe_success="up"
    )
    with time_machine.travel(NOW, tick=False):
        page = admin_client.post(
            "/admin/integrations/prometheussource/",
            {"action": "pull_now", "_selected_action": [source.pk, broken.pk]},
            follow=True,
        )
    assert page.status_code == 200
    text = page.content.decode()
    # Django's message list capitalises the first letter.
    assert "Prom: 122 stored" in text
    assert "Broken: Prometheus is unreachable at http://127.0.0.1:1" in text
    assert ProbeResult.objects.count() == 122
