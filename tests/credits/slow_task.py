"""A task for the worker-loss test: notes each start in a file, then sleeps."""

from __future__ import annotations

import time

from celery import shared_task


@shared_task(acks_late=True)
def slow(path: str, seconds: float) -> None:
    with open(path, "a") as handle:
        handle.write("started\n")
    time.sleep(seconds)
    with open(path, "a") as handle:
        handle.write("done\n")
