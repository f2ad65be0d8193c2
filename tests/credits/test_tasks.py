"""Celery tasks: fan-out per agreement, retry policy, idempotence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from credits import tasks
from credits.models import Evaluation, Period

pytestmark = pytest.mark.django_db


def test_recompute_all_fans_out_in_batches(
    agreement: Any, other_agreement: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.recompute_agreements, "delay", sent.append)
    assert tasks.recompute_all() == 2
    assert sent == [sorted([agreement.pk, other_agreement.pk])]

    settings.RECOMPUTE_BATCH_SIZE = 1  # one task per agreement
    sent.clear()
    assert tasks.recompute_all() == 2
    assert sent == [[agreement.pk], [other_agreement.pk]]


def test_batch_task_evaluates_every_agreement_and_skips_deleted_ones(
    agreement: Any, other_agreement: Any
) -> None:
    lines = tasks.recompute_agreements([agreement.pk, 987654, other_agreement.pk])
    assert [line.split(":")[0] for line in lines] == ["acme-hosting", "globex-hosting"]
    assert Period.objects.filter(agreement=agreement).exists()
    assert Period.objects.filter(agreement=other_agreement).exists()


def test_tasks_declare_retry_policy_and_late_acks() -> None:
    for task in (tasks.recompute_agreement, tasks.recompute_agreements, tasks.close_periods):
        assert task.acks_late is True
        assert task.max_retries >= 3
        assert task.autoretry_for == (Exception,)


def test_recompute_task_is_idempotent(agreement: Any) -> None:
    first = tasks.recompute_agreement(agreement.pk)
    count = Evaluation.objects.count()
    assert tasks.recompute_agreement(agreement.pk) == first
    assert Evaluation.objects.count() == count
    assert Period.objects.filter(agreement=agreement).exists()


def test_recompute_of_deleted_agreement_is_a_no_op() -> None:
    assert tasks.recompute_agreement(987654) == "gone"


def test_close_task_accepts_an_instant(agreement: Any) -> None:
    closed = tasks.close_periods(dt.datetime(2026, 3, 5, tzinfo=dt.UTC).isoformat())
    assert "acme-hosting 2026-01" in closed and "acme-hosting 2026-02" in closed
