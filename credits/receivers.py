"""Listens to the measurements layer: stored data invalidates the checkpoints it falls
into, and new data schedules a coalesced recompute."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from metrics.models import Ticket
from metrics.signals import measurements_received, measurements_stored


@receiver(measurements_stored)
def _on_stored(sender: Any, *, result: Any, **_: Any) -> None:
    # In the storing transaction: older data must not leave a stale checkpoint behind.
    if result.first is not None and result.service_ids:
        from credits.checkpoints import invalidate

        invalidate(service_ids=result.service_ids, since=result.first)
    if result.customer_ids:
        # Tickets: what pages read from them is stale.
        from credits.tickets import tickets_changed

        tickets_changed(result.customer_ids)


@receiver(measurements_received)
def _on_measurements(
    sender: Any,
    *,
    service_ids: list[int],
    customer_ids: list[int],
    late: int = 0,
    first: Any = None,
    last: Any = None,
    **_: Any,
) -> None:
    from credits.models import Period
    from credits.recompute import agreements_using
    from credits.tasks import schedule_recompute

    agreements = agreements_using(service_ids=service_ids, customer_ids=customer_ids)
    if late and first is not None:
        # Late data for a closed period: flagged for staff, who may re-evaluate it.
        Period.objects.closed().filter(
            agreement_id__in=agreements, start__lte=last, end__gt=first
        ).update(late_data=True)
    schedule_recompute(agreements)


@receiver(post_save, sender=Ticket)
@receiver(post_delete, sender=Ticket)
def _on_ticket_saved(sender: Any, *, instance: Ticket, **_: Any) -> None:
    # One ticket changed outside a batch (admin, a test): what its customer's pages read
    # from tickets is stale.
    from credits.tickets import tickets_changed

    tickets_changed([instance.customer_id])
