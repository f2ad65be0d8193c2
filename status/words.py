"""The words of the status page: a service's current state and a day's bar."""

from __future__ import annotations

from django.db import models


class ServiceState(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED = "degraded", "Degraded performance"
    MAINTENANCE = "maintenance", "Under maintenance"
    OUTAGE = "outage", "Outage"

    @staticmethod
    def rank(state: str) -> int:
        """Severity, for the headline: the worst state of any service leads it."""
        return ["operational", "maintenance", "degraded", "outage"].index(state)

    @property
    def headline(self) -> str:
        return {
            "operational": "All systems operational",
            "maintenance": "Maintenance in progress",
            "degraded": "Degraded performance",
            "outage": "Outage",
        }[self.value]


class DayState(models.TextChoices):
    """A day's bar: an outage counted downtime, a degraded incident only happened."""

    OPERATIONAL = "operational", "No incident"
    DEGRADED = "degraded", "Degraded, no downtime"
    OUTAGE = "outage", "Downtime"
