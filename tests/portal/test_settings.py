"""Settings come from the environment only, and a bad value stops start-up naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "k3y-" + "x9Qz" * 16


def _start(extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "SECRET_KEY",
            "SECURE_SSL_REDIRECT",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "STATIC_FROM_SOURCE",
        }
    }
    environ.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG: expected true or false"),
        ("CONN_MAX_AGE", "forever", "CONN_MAX_AGE: expected a whole number"),
        ("CONN_MAX_AGE", "-5", "CONN_MAX_AGE: must be at least 0"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: scheme must be one of"),
        ("REDIS_URL", "http://localhost", "REDIS_URL: scheme must be one of"),
        ("EMAIL_URL", "pigeon://coop", "EMAIL_URL: scheme must be one of"),
        ("EMAIL_URL", "smtp://", "EMAIL_URL: SMTP URL needs a host"),
        ("ALLOWED_HOSTS", "a,,b", "ALLOWED_HOSTS: empty item"),
        ("RECOMPUTE_INTERVAL_SECONDS", "1", "RECOMPUTE_INTERVAL_SECONDS: must be at least 10"),
        ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT: must be at least 1"),
        ("LOGIN_LOCK_MINUTES", "soon", "LOGIN_LOCK_MINUTES: expected a whole number"),
        ("PORTAL_BENCH_TRIVIAL", "perhaps", "PORTAL_BENCH_TRIVIAL: expected true or false"),
    ],
)
def test_bad_value_stops_startup_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    result = _start({"DEBUG": "true", variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_secret_key_required_without_debug() -> None:
    result = _start({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY: must be set" in result.stderr


def test_check_deploy_is_clean_with_debug_off_and_a_real_secret() -> None:
    result = _start(
        {
            "DEBUG": "false",
            "SECRET_KEY": STRONG_SECRET,
            "ALLOWED_HOSTS": "sla.example.com",
            # No collectstatic here (tests/portal/test_static_check.py covers it).
            "STATIC_FROM_SOURCE": "true",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("yes", True), ("ON", True), ("0", False), ("no", False), ("off", False)],
)
def test_env_bool_accepts_usual_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.env_bool("SOME_FLAG", not expected) is expected


def test_email_url_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://user%40x:p%3Ass@mail.example.com:2525?timeout=5")
    config = env.email_settings("EMAIL_URL")
    assert config["EMAIL_HOST"] == "mail.example.com"
    assert config["EMAIL_PORT"] == 2525
    assert config["EMAIL_HOST_USER"] == "user@x"
    assert config["EMAIL_HOST_PASSWORD"] == "p:ss"
    assert config["EMAIL_USE_TLS"] is True
    assert config["EMAIL_TIMEOUT"] == 5


def test_email_url_defaults_to_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMAIL_URL", raising=False)
    assert env.email_settings("EMAIL_URL")["EMAIL_BACKEND"].endswith("console.EmailBackend")


def test_env_int_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N", "7")
    with pytest.raises(ImproperlyConfigured, match="N: must be at most 5"):
        env.env_int("N", 1, maximum=5)


def test_connections_are_kept_open(settings: object) -> None:
    from django.conf import settings as live

    assert live.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert live.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_commands_of_an_unconfigured_checkout_run_as_development() -> None:
    result = _start({}, "check")
    assert result.returncode == 0, result.stderr


def test_embedded_broker_keeps_every_folder_under_var_dir(tmp_path: Path) -> None:
    # kombu's filesystem transport writes its exchange tables to control/ in the working
    # directory unless told otherwise: every folder it uses must be under VAR_DIR.
    var = tmp_path / "var"
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps(s.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    environ = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "VAR_DIR"}
    }
    environ.update(
        {"DEBUG": "true", "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])
    folders = {key: Path(value) for key, value in options.items() if key.endswith("_folder")}
    assert set(folders) >= {"control_folder", "processed_folder"}
    folders["data_folder_in"] = Path(options["data_folder_in"])
    folders["data_folder_out"] = Path(options["data_folder_out"])
    for name, folder in folders.items():
        assert folder.is_relative_to(var / "broker"), name
        assert folder.is_dir(), name


def test_nothing_generated_is_committed() -> None:
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip("not a git checkout")
    tracked = listing.stdout.split()
    generated = ("control/", "var/", ".hypothesis/", "staticfiles/")
    assert [path for path in tracked if path.startswith(generated)] == []
