"""``make run``: migrate, load demo data, then run the web server, a worker and beat.

Every process started here is stopped on Ctrl-C (or SIGTERM), and if one of them dies
the others are stopped too, so nothing is left running in the background.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def _say(line: str) -> None:
    print(line, flush=True)


def _serving(bind: str) -> bool:
    host, _, port = bind.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=1):
            return True
    except OSError:
        return False


def _wait_until_serving(bind: str, web: subprocess.Popen[bytes], seconds: float = 60) -> bool:
    """True once something accepts connections on ``bind`` (host:port), False if the web
    server exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and web.poll() is None:
        if _serving(bind):
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings

    # Reading the settings parses every variable (a bad one stops here, naming it) and
    # makes the folders under VAR_DIR.
    bind, var = settings.BIND, Path(settings.VAR_DIR)
    if _serving(bind):
        _say(f"Something is already serving on {bind}: stop it, or set BIND=host:port.")
        return 1
    _say("Preparing the database...")
    _manage("migrate", "--noinput", "-v", "0")
    _manage("seed_demo")
    _say("Starting the web server, a worker and beat...")
    bin_dir = Path(sys.executable).parent
    commands = {
        "web": [
            str(bin_dir / "gunicorn"),
            "portal.wsgi",
            "--bind",
            bind,
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
        ],
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "--quiet",  # no banner: the portal's address stays the last thing printed
            "-A",
            "portal",
            "worker",
            "--beat",
            "--loglevel",
            os.environ.get("WORKER_LOG_LEVEL", "WARNING"),
            "--concurrency",
            "2",
            "--schedule",
            str(var / "celerybeat-schedule"),
        ],
    }
    processes = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
    if _wait_until_serving(bind, processes["web"]):
        _say(
            f"\nSLA Portal is running on http://{bind}/ (admin: http://{bind}/admin/). "
            "Press Ctrl-C to stop.\n"
        )

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with status {process.returncode}; stopping.", flush=True)
                code = process.returncode or 1
                stopping = True
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
