"""Listens to the measurements layer: new data schedules a coalesced recompute."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from metrics.signals import measurements_received


@receiver(measurements_received)
def _on_measurements(
    sender: Any, *, service_ids: list[int], customer_ids: list[int], **_: Any
) -> None:
    from credits.services import agreements_using
    from credits.tasks import schedule_recompute

    schedule_recompute(agreements_using(service_ids=service_ids, customer_ids=customer_ids))
