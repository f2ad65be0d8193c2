"""Checkpoints: a recompute that reuses the counts of an open period's settled past gives
exactly what reading everything gives, whatever arrives later and whenever."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.models import Agreement, Service
from agreements.services import agreement_import
from credits.checkpoints import settled_until
from credits.evaluation import evaluate
from credits.models import Checkpoint, Evaluation, Period
from credits.recompute import recompute_agreement, recompute_agreements
from metrics.models import Maintenance
from metrics.services import events_ingest, maintenance_ingest, probes_ingest
from tests.credits.test_summaries_match_engine import START, document

pytestmark = pytest.mark.django_db
UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


def stored(agreement: Agreement) -> dict[str, tuple[Decimal, Decimal, str]]:
    period = Period.objects.get(agreement=agreement, period="2026-03")
    return {
        e.objective_key: (e.good, e.bad, e.status)
        for e in Evaluation.objects.filter(period=period, revision=period.revision)
    }


def read_in_full(agreement: Agreement, now: dt.datetime) -> dict[str, tuple[Decimal, Decimal, str]]:
    agreement = Agreement.objects.get(pk=agreement.pk)
    result = evaluate(
        agreement=agreement,
        period="2026-03",
        version=agreement.versions.get(),
        now=now,
        closed=False,
    )
    assert result is not None
    return {
        r.terms.key: (
            r.figures.good.quantize(Decimal("0.000001")),
            r.figures.bad.quantize(Decimal("0.000001")),
            r.status,
        )
        for r in result.objectives
    }


def probes(sid: int, start: dt.datetime, minutes: int, ok: bool, probe: str = "a") -> None:
    probes_ingest(
        rows=[
            (sid, probe, start + dt.timedelta(minutes=i, seconds=7), ok, 50.0 if ok else None)
            for i in range(minutes)
        ],
        closed={},
    )


@pytest.fixture
def prop() -> Agreement:
    return agreement_import(data=document("Europe/Berlin", ["09:00-17:00"], 0)).agreement


def test_recompute_keeps_a_checkpoint_of_the_settled_past(prop: Agreement) -> None:
    sid = Service.objects.get(key="svc").pk
    probes(sid, START, 3 * 24 * 60, True)
    now = START + dt.timedelta(days=2, hours=5)
    recompute_agreement(agreement_id=prop.pk, now=now)
    saved = {c.objective_key: c for c in Checkpoint.objects.all()}
    assert set(saved) == {"avail", "avail-all", "lat", "events"}
    assert {c.through for c in saved.values()} == {settled_until(now)}
    # Every covered minute before the checkpoint was up; the ones after it are read again.
    full = read_in_full(prop, now)
    assert stored(prop) == full
    assert saved["avail-all"].first < full["avail-all"][0]


def test_a_reused_checkpoint_is_not_read_again(prop: Agreement) -> None:
    sid = Service.objects.get(key="svc").pk
    probes(sid, START, 2 * 24 * 60, True)
    now = START + dt.timedelta(days=2, hours=1)
    recompute_agreement(agreement_id=prop.pk, now=now)
    # Doctored so that reuse shows: the next recompute takes the past from the checkpoint
    # and reads only what follows it.
    checkpoint = Checkpoint.objects.get(objective_key="avail-all")
    Checkpoint.objects.filter(pk=checkpoint.pk).update(
        first=checkpoint.first + 7, second=checkpoint.second + 3
    )
    later = now + dt.timedelta(minutes=5)
    recompute_agreement(agreement_id=prop.pk, now=later)
    good, bad, _ = stored(prop)["avail-all"]
    full_good, full_bad, _ = read_in_full(prop, later)["avail-all"]
    assert (good, bad) == (full_good + 7, full_bad + 3)


def test_older_data_deletes_the_checkpoints_it_falls_into(prop: Agreement) -> None:
    sid = Service.objects.get(key="svc").pk
    probes(sid, START, 2 * 24 * 60, True)
    now = START + dt.timedelta(days=2, hours=1)
    recompute_agreement(agreement_id=prop.pk, now=now)
    assert Checkpoint.objects.count() == 4
    # Failures in the settled past, sent later (a second probe location, so they count).
    probes(sid, START + dt.timedelta(hours=20), 20, False, probe="b")
    probes(sid, START + dt.timedelta(hours=20), 20, False, probe="c")
    assert Checkpoint.objects.count() == 0
    recompute_agreement(agreement_id=prop.pk, now=now)
    assert stored(prop) == read_in_full(prop, now)
    assert stored(prop)["avail-all"][1] == 20


def test_todays_data_leaves_checkpoints_alone(prop: Agreement) -> None:
    sid = Service.objects.get(key="svc").pk
    today = dt.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    probes(sid, START, 60, True)
    recompute_agreement(agreement_id=prop.pk, now=START + dt.timedelta(days=2))
    with time_machine.travel(today + dt.timedelta(hours=12), tick=False):
        probes(sid, today + dt.timedelta(hours=1), 5, True)
    assert Checkpoint.objects.count() == 4


def test_new_maintenance_in_the_settled_past_is_counted(prop: Agreement) -> None:
    sid = Service.objects.get(key="svc").pk
    probes(sid, START, 2 * 24 * 60, True)
    probes(sid, START + dt.timedelta(hours=20), 30, False, probe="b")
    probes(sid, START + dt.timedelta(hours=20), 30, False, probe="c")
    now = START + dt.timedelta(days=2, hours=1)
    recompute_agreement(agreement_id=prop.pk, now=now)
    assert stored(prop)["avail-all"][1] == 30
    # Entered by staff in admin: no batch is stored, nothing deletes the checkpoint, and
    # the covered time it was counted over no longer matches.
    Maintenance.objects.create(
        service_id=sid,
        external_id="mw",
        title="upgrade",
        start=START + dt.timedelta(hours=20),
        end=START + dt.timedelta(hours=21),
        announced_at=START,
    )
    assert Checkpoint.objects.count() == 4
    recompute_agreement(agreement_id=prop.pk, now=now + dt.timedelta(minutes=1))
    assert stored(prop)["avail-all"][1] == 0
    assert stored(prop) == read_in_full(prop, now + dt.timedelta(minutes=1))


def test_closing_reads_everything_again(prop: Agreement) -> None:
    from credits.closing import close_due_periods

    sid = Service.objects.get(key="svc").pk
    probes(sid, START, 3 * 24 * 60, True)
    recompute_agreement(agreement_id=prop.pk, now=START + dt.timedelta(days=2))
    Checkpoint.objects.update(first=0, second=10_000)  # would be visible if reused
    close_due_periods(now=dt.datetime(2026, 4, 3, tzinfo=UTC))
    period = Period.objects.get(agreement=prop, period="2026-03")
    assert period.is_closed
    assert all(e.bad == 0 for e in Evaluation.objects.filter(period=period))


seconds = st.integers(0, 3 * 24 * 3600 - 1)
batches = st.lists(
    st.tuples(seconds, st.sampled_from(["a", "b", "c"]), st.booleans(), st.integers(0, 200)),
    max_size=60,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tz=st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "America/New_York"]),
    ranges=st.sampled_from([["00:00-24:00"], ["09:00-17:00"], ["01:30-03:30", "20:00-23:59"]]),
    first=batches,
    later=st.lists(batches, max_size=3),
    events=st.lists(st.tuples(seconds, st.integers(0, 10), st.integers(0, 10)), max_size=20),
    window=st.one_of(st.none(), st.tuples(seconds, st.integers(60, 6 * 3600))),
    steps=st.lists(st.integers(0, 36 * 3600), min_size=1, max_size=4),
)
def test_checkpointed_recomputes_equal_full_reads(
    tz: str,
    ranges: list[str],
    first: list[Any],
    later: list[list[Any]],
    events: list[Any],
    window: tuple[int, int] | None,
    steps: list[int],
) -> None:
    """Batches arriving between recomputes at later and later instants, some of them for
    the settled past, maintenance appearing: the stored figures are always those of a
    full read."""
    with transaction.atomic():
        agreement = agreement_import(data=document(tz, ranges, 0)).agreement
        sid = Service.objects.get(key="svc").pk

        def send(batch: list[Any]) -> None:
            rows = [
                (sid, p, START + dt.timedelta(seconds=s), ok, float(lat) if ok else None)
                for s, p, ok, lat in batch
            ]
            if rows:
                probes_ingest(rows=rows, closed={})

        send(first)
        ev = [(sid, START + dt.timedelta(seconds=s), min(a, b), max(a, b)) for s, a, b in events]
        if ev:
            events_ingest(rows=ev, closed={})
        now = START + dt.timedelta(hours=20)
        for n, step in enumerate(steps):
            now += dt.timedelta(seconds=step)
            recompute_agreements(agreement_ids=[agreement.pk], now=now)
            assert stored(agreement) == read_in_full(agreement, now)
            if n < len(later):
                send(later[n])
            if n == 0 and window is not None:
                start, length = window
                maintenance_ingest(
                    rows=[
                        (
                            sid,
                            "mw",
                            "mw",
                            START + dt.timedelta(seconds=start),
                            START + dt.timedelta(seconds=start + length),
                            START,
                        )
                    ],
                    closed={},
                )
        now += HOUR
        recompute_agreements(agreement_ids=[agreement.pk], now=now)
        assert stored(agreement) == read_in_full(agreement, now)
        transaction.set_rollback(True)


def test_a_period_in_its_grace_time_reuses_its_checkpoint(prop: Agreement) -> None:
    sid = Service.objects.get(key="svc").pk
    probes(sid, START, 3 * 24 * 60, True)
    after_end = dt.datetime(2026, 4, 1, 6, tzinfo=UTC)  # March ended at 22:00 UTC
    recompute_agreement(agreement_id=prop.pk, now=after_end)
    march = Checkpoint.objects.filter(period__period="2026-03")
    assert {c.through for c in march} == {dt.datetime(2026, 3, 31, tzinfo=UTC)}
    probes(sid, dt.datetime(2026, 3, 31, 21, tzinfo=UTC), 30, False, probe="b")
    probes(sid, dt.datetime(2026, 3, 31, 21, tzinfo=UTC), 30, False, probe="c")
    assert march.count() == 4  # after the checkpoint: nothing to delete
    recompute_agreement(agreement_id=prop.pk, now=after_end + dt.timedelta(hours=1))
    assert stored(prop) == read_in_full(prop, after_end + dt.timedelta(hours=1))
    assert stored(prop)["avail-all"][1] == 30
