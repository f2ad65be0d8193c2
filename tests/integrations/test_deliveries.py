"""The delivery log: kept 30 days for staff, then pruned by beat; visible in admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from integrations.models import Delivery
from integrations.tasks import prune_deliveries
from portal.celery import beat_schedule

pytestmark = pytest.mark.django_db


def test_deliveries_older_than_30_days_are_pruned() -> None:
    now = timezone.now()
    old = Delivery.objects.create(
        kind="alertmanager", status_code=200, received_at=now - dt.timedelta(days=31)
    )
    kept = Delivery.objects.create(
        kind="alertmanager", status_code=200, received_at=now - dt.timedelta(days=29)
    )
    assert prune_deliveries() == 1
    assert list(Delivery.objects.all()) == [kept]
    assert not Delivery.objects.filter(pk=old.pk).exists()


def test_pruning_is_a_periodic_task() -> None:
    from django.conf import settings

    tasks = {entry["task"] for entry in beat_schedule(settings).values()}
    assert "integrations.tasks.prune_deliveries" in tasks


def test_admin_lists_deliveries_and_integrations(admin_client: Any) -> None:
    Delivery.objects.create(kind="pagerduty", status_code=401, error="bad signature")
    for path in ("/admin/integrations/delivery/", "/admin/integrations/integration/add/"):
        assert admin_client.get(path).status_code == 200
