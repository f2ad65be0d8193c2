from __future__ import annotations

from django.db import models


class PendingTask(models.Model):
    """A task the broker could not take (Redis down), kept until beat sends it again.

    Identical tasks (same name and arguments) are kept once: every task is idempotent, and
    an outage of an hour must not turn into an hour of repeated periodic passes.
    """

    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    # Name and arguments hashed: the identity that keeps identical tasks once.
    digest = models.CharField(max_length=64, unique=True)
    # Not to run before this (the countdown or eta it was enqueued with).
    not_before = models.DateTimeField()
    created_at = models.DateTimeField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"
