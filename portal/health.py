"""The state of each service the portal depends on, for /healthz."""

from __future__ import annotations

import os
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

# Seconds a check waits for Redis before calling it down.
TIMEOUT_SECONDS = 1.0


def database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def cache_service() -> None:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # Redis; the file cache of a bare machine has nothing to ask
        ping()


def broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not os.access(folder, os.W_OK):
            raise OSError(f"broker folder {folder} is not writable")
        return
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


CHECKS: dict[str, Callable[[], None]] = {
    "database": database,
    "cache": cache_service,
    "broker": broker,
}


def states() -> dict[str, str]:
    """``{"database": "ok", "cache": "down: <why>", ...}``"""
    out = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:
            out[name] = f"down: {error}"[:300]
        else:
            out[name] = "ok"
    return out
