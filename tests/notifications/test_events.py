"""Each event is stored once, with its agreement, objective, time and payload."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from agreements.models import Service
from credits import signals
from credits.claims import claim_decide, claim_submit
from credits.closing import close_due_periods
from credits.models import Claim, Period
from credits.recompute import recompute_agreement
from metrics.services import maintenance_ingest
from notifications import tasks
from notifications.models import Escalation, Event, EventType
from tests.notifications.conftest import BREACH, T0, fail_minutes, ingest_incident

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _types(agreement: Any) -> list[str]:
    return list(
        Event.objects.filter(agreement=agreement).order_by("id").values_list("type", flat=True)
    )


def test_a_burst_of_1000_recomputes_raises_the_breach_once(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fail_minutes(T0, BREACH)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(1000):
            recompute_agreement(
                agreement_id=agreement.pk, now=T0 + dt.timedelta(minutes=BREACH + 1, seconds=3 * i)
            )
    events = Event.objects.filter(type=EventType.OBJECTIVE_BREACHED)
    assert events.count() == 1
    event = events.get()
    assert event.agreement == agreement
    assert event.objective_key == "api-availability"
    assert event.occurred_at == T0 + dt.timedelta(minutes=BREACH + 1)
    assert event.payload["period"] == "2026-03"
    assert event.payload["status"] == "breached"
    assert event.payload["achieved"] == 0
    assert event.payload["target"] == 99.9
    assert Escalation.objects.filter(event=event).count() == 1


def test_the_same_signal_sent_1000_times_raises_each_event_once(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fail_minutes(T0, BREACH)
    with django_capture_on_commit_callbacks(execute=True):
        recompute_agreement(agreement_id=agreement.pk, now=T0 + dt.timedelta(hours=1))
    period = Period.objects.get(agreement=agreement, period="2026-03")
    at = T0 + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(1000):
            signals.objective_status_changed.send(
                sender=Period,
                agreement=agreement,
                period=period,
                objective_key="api-availability",
                previous="met",
                current="breached",
                at=at,
            )
            signals.period_closed.send(sender=Period, period=period, at=at)
    assert Event.objects.filter(type=EventType.OBJECTIVE_BREACHED).count() == 1
    assert Event.objects.filter(type=EventType.PERIOD_CLOSED).count() == 1
    assert Escalation.objects.count() == 1


def test_a_second_breach_after_recovery_is_a_new_episode(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fail_minutes(T0, BREACH)
    with django_capture_on_commit_callbacks(execute=True):
        recompute_agreement(agreement_id=agreement.pk, now=T0 + dt.timedelta(hours=1))
    period = Period.objects.get(agreement=agreement, period="2026-03")
    steps = ["met", "at_risk", "breached", "breached", "met", "met"]
    with django_capture_on_commit_callbacks(execute=True):
        for n, status in enumerate(steps):
            signals.objective_status_changed.send(
                sender=Period,
                agreement=agreement,
                period=period,
                objective_key="api-availability",
                previous=None,
                current=status,
                at=T0 + dt.timedelta(hours=2 + n),
            )
    assert _types(agreement) == [
        "objective.breached",
        "objective.recovered",
        "objective.at_risk",
        "objective.breached",
        "objective.recovered",
    ]
    keys = list(Event.objects.order_by("id").values_list("idempotency_key", flat=True))
    assert keys[0] == f"objective.breached:{period.pk}:api-availability:1"
    assert keys[3] == f"objective.breached:{period.pk}:api-availability:4"
    # Each breach opened an escalation; each recovery resolved it.
    assert Escalation.objects.count() == 2
    assert not Escalation.objects.filter(resolved_at__isnull=True).exists()


def test_a_stale_report_is_ignored(agreement: Any, django_capture_on_commit_callbacks: Any) -> None:
    fail_minutes(T0, BREACH)
    with django_capture_on_commit_callbacks(execute=True):
        recompute_agreement(agreement_id=agreement.pk, now=T0 + dt.timedelta(hours=1))
        period = Period.objects.get(agreement=agreement, period="2026-03")
        signals.objective_status_changed.send(
            sender=Period,
            agreement=agreement,
            period=period,
            objective_key="api-availability",
            previous="breached",
            current="met",
            at=T0,  # older than the breach already seen
        )
    assert _types(agreement) == ["objective.breached"]


def test_a_report_handled_after_its_period_closed_starts_nothing(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Status changes are handled by a worker: one that only runs once the period has
    closed (its escalations already resolved by the close) must not start one again."""
    fail_minutes(T0, BREACH)
    recompute_agreement(agreement_id=agreement.pk, now=T0 + dt.timedelta(hours=1))
    close_due_periods(now=dt.datetime(2026, 4, 3, tzinfo=UTC))
    period = Period.objects.get(agreement=agreement, period="2026-03")
    assert period.is_closed
    assert (
        tasks.handle_objective_status_change(
            period.pk, "api-availability", "breached", (T0 + dt.timedelta(hours=1)).isoformat()
        )
        is False
    )
    assert not Event.objects.filter(type=EventType.OBJECTIVE_BREACHED).exists()
    assert not Escalation.objects.exists()


def test_incident_opened_updated_resolved(
    agreement: Any, other_agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded", title="API slow")
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded", title="API slow")  # same again: nothing new
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded", title="API slow", resolved_at=T0 + dt.timedelta(hours=1))
    assert _types(agreement) == ["incident.opened", "incident.updated", "incident.resolved"]
    # Both agreements use the service: each hears about it, for its own customer.
    assert _types(other_agreement) == ["incident.opened", "incident.updated", "incident.resolved"]
    opened = Event.objects.filter(agreement=agreement, type="incident.opened").get()
    assert opened.occurred_at == T0
    assert opened.payload["incident"]["external_id"] == "INC-1"
    assert opened.payload["customer"] == "acme"
    resolved = Event.objects.filter(agreement=agreement, type="incident.resolved").get()
    assert resolved.occurred_at == T0 + dt.timedelta(hours=1)
    # Degraded incidents are not escalated.
    assert not Escalation.objects.exists()


def test_maintenance_scheduled_started_finished(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    service = Service.objects.get(key="hosted-api")
    start, end = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3)
    with time_machine.travel(T0, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            maintenance_ingest(
                rows=[
                    (service.pk, "MW-1", "kernel upgrade", start, end, T0 - dt.timedelta(days=3))
                ],
                closed={},
            )
        tasks.escalate()
        assert _types(agreement) == ["maintenance.scheduled"]
        clock.move_to(start + dt.timedelta(minutes=1))
        tasks.escalate()
        tasks.escalate()
        clock.move_to(end + dt.timedelta(minutes=1))
        tasks.escalate()
        tasks.escalate()
    assert _types(agreement) == [
        "maintenance.scheduled",
        "maintenance.started",
        "maintenance.finished",
    ]
    finished = Event.objects.get(agreement=agreement, type="maintenance.finished")
    assert finished.occurred_at == end
    assert finished.payload["maintenance"]["title"] == "kernel upgrade"


def test_period_closed_credit_claimable_and_claim_decisions(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fail_minutes(T0, 120)
    after = dt.datetime(2026, 4, 3, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        recompute_agreement(agreement_id=agreement.pk, now=T0 + dt.timedelta(hours=3))
    assert Escalation.objects.get().resolved_at is None  # the breach, while March is open
    with django_capture_on_commit_callbacks(execute=True):
        close_due_periods(now=after)
    march = Period.objects.get(agreement=agreement, period="2026-03")
    closed = Event.objects.get(type="period.closed", payload__period="2026-03")
    assert closed.payload["credit"] == {"amount": f"{march.credit_amount:.2f}", "currency": "EUR"}
    claimable = Event.objects.get(type="credit.claimable")
    assert claimable.payload["period"] == "2026-03"
    # The breach escalation ends with the period.
    assert Escalation.objects.get().resolution == "period closed"
    claim = Claim.objects.get(period=march)
    with django_capture_on_commit_callbacks(execute=True):
        claim_submit(claim_id=claim.pk, actor="alice", now=after)
        claim_decide(claim_id=claim.pk, approve=True, actor="staff", now=after)
    assert Event.objects.filter(type="claim.approved").count() == 1
    issued = Event.objects.get(type="credit.issued")
    assert issued.payload["credit"]["amount"] == f"{claim.amount:.2f}"


def test_claim_rejected(agreement: Any, django_capture_on_commit_callbacks: Any) -> None:
    fail_minutes(T0, 120)
    after = dt.datetime(2026, 4, 3, tzinfo=UTC)
    close_due_periods(now=after)
    claim = Claim.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        claim_submit(claim_id=claim.pk, actor="alice", now=after)
        claim_decide(claim_id=claim.pk, approve=False, actor="staff", now=after, reason="late")
    rejected = Event.objects.get(type="claim.rejected")
    assert rejected.payload["claim"]["reason"] == "late"
    assert not Event.objects.filter(type="credit.issued").exists()
