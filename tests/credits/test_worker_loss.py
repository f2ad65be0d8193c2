"""A worker killed mid-task: the task is not lost, and not held for an hour."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.conf import settings

from portal.celery import app

ROOT = Path(__file__).resolve().parent.parent.parent


def test_worker_settings_bound_unacknowledged_tasks() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit == settings.TASK_TIME_LIMIT_SECONDS
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    if settings.REDIS_URL:
        visibility = conf.broker_transport_options["visibility_timeout"]
        assert conf.task_time_limit < visibility < 3600


def test_visibility_timeout_must_exceed_the_time_limit() -> None:
    env = {
        **os.environ,
        "REDIS_URL": "redis://127.0.0.1:6379/11",
        "TASK_TIME_LIMIT_SECONDS": "600",
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": "300",
    }
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode != 0
    assert "BROKER_VISIBILITY_TIMEOUT_SECONDS: must be longer" in run.stderr


def worker(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-Q",
                queue,
                "-I",
                "tests.credits.slow_task",
            ],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis transport's visibility timeout")
def test_a_task_of_a_killed_worker_is_redelivered(tmp_path: Path) -> None:
    """SIGKILL the worker mid-task; another worker runs it after the visibility timeout
    (kept short here), instead of Redis' default hour."""
    queue = f"kill-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        # The smallest allowed: above the shortest time limit, as settings require.
        "TASK_TIME_LIMIT_SECONDS": "30",
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": "31",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    log = tmp_path / "worker.log"
    first = worker(env, queue, log)
    try:
        starts = tmp_path / "starts"
        # Sent, not applied: the test process runs applied tasks itself (eager).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlwaysEagerIgnored)
            app.send_task("tests.credits.slow_task.slow", (str(starts), 5), queue=queue)
        assert wait_for(lambda: starts.exists(), 60), log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        began = time.monotonic()
        second = worker(env, queue, log)
        try:
            # Redelivered once the visibility timeout has passed, run to the end and
            # acknowledged this time.
            assert wait_for(lambda: "done" in starts.read_text(), 90), log.read_text()
            assert time.monotonic() - began < 90
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
