"""Docker cannot run here, so the compose file is checked by reading it."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_service_with_health_checks() -> None:
    services = _compose()["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    for name in ("web", "worker", "postgres", "redis"):
        assert "healthcheck" in services[name], name
    assert set(_compose()["volumes"]) >= {"pgdata", "redisdata"}


def test_compose_commands_run_the_portal() -> None:
    services = _compose()["services"]
    assert "gunicorn portal.wsgi" in services["web"]["command"]
    assert "migrate" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A portal worker")
    assert services["beat"]["command"].startswith("celery -A portal beat")
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert env["DEBUG"] == "false"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_migrates_as_owner_and_serves_as_the_app_role() -> None:
    services = _compose()["services"]
    web = services["web"]
    assert "DATABASE_URL=$$OWNER_DATABASE_URL python manage.py migrate" in web["command"]
    assert "grant_app_role sla_app" in web["command"]
    assert web["environment"]["OWNER_DATABASE_URL"].startswith("postgres://sla:")
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://sla_app:")
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_dockerfile_collects_static_and_runs_gunicorn() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "collectstatic" in text
    assert "gunicorn" in text
    assert "USER portal" in text


def test_beat_schedule_is_declared_in_one_place() -> None:
    from django.conf import settings

    from portal.celery import app, beat_schedule

    schedule = beat_schedule(settings)
    assert schedule["recompute-open-periods"]["schedule"] == settings.RECOMPUTE_INTERVAL_SECONDS
    app.finalize()
    assert set(schedule) <= set(app.conf.beat_schedule)
