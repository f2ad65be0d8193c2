"""Subscribers of the public status page and the emails each has been sent.

An address is stored once; it receives nothing until its owner confirms it from the
link sent to it (double opt-in), and unsubscribing deletes it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from agreements.models import Service


class SubscriberQuerySet(models.QuerySet["Subscriber"]):
    def confirmed(self) -> SubscriberQuerySet:
        return self.filter(confirmed_at__isnull=False)

    def following(self, service: Service) -> SubscriberQuerySet:
        """Subscribers told about ``service``: those of all services, and of it."""
        return self.filter(Q(all_services=True) | Q(services=service)).distinct()


class Subscriber(models.Model):
    email = models.EmailField(max_length=254, unique=True)
    all_services = models.BooleanField(default=True)
    services = models.ManyToManyField(Service, blank=True, related_name="subscribers")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class Delivery(models.Model):
    """One email of one notice to one subscriber: sending the notice twice sends nothing."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    notice = models.CharField(max_length=100)  # e.g. "incident-opened:12"
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "notice"],
                name="status_delivery_once",
                violation_error_message="This subscriber already received this notice.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.notice} to {self.subscriber_id}"
