"""Recomputing open periods (SPEC §3 rule 10: every figure of an open period is so far),
many agreements at a time, and announcing the objectives whose status changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agreements import engine
from agreements.engine import Status
from agreements.models import Agreement, TermsVersion
from credits import checkpoints, signals
from credits.evaluation import Job, PeriodResult, evaluate_many
from credits.failures import record_failure, resolve_failures
from credits.models import Evaluation, Failure, Period
from credits.storage import period_row, store_evaluations


@dataclass
class RecomputeSummary:
    agreement: str
    evaluated: list[str]
    skipped_closed: list[str]
    failed: str = ""  # the error, when this agreement's recompute failed (kept as a Failure)

    def line(self) -> str:
        if self.failed:
            return f"{self.agreement}: failed ({self.failed}); kept for staff and retried"
        done = ", ".join(self.evaluated) or "nothing open"
        return f"{self.agreement}: evaluated {done}"


def version_in_force(versions: list[TermsVersion], period: str) -> TermsVersion | None:
    eligible = [v for v in versions if v.effective_period <= period]
    if not eligible:
        return None
    return max(eligible, key=lambda v: (v.effective_period, v.number))


def periods_due(agreement: Agreement, now: dt.datetime) -> list[str]:
    """Every period of the agreement that has started by ``now``."""
    last = engine.period_id(now, agreement.timezone)
    first = f"{agreement.effective_from:%Y-%m}"
    if agreement.effective_to is not None:
        last = min(last, f"{agreement.effective_to:%Y-%m}")
    out = []
    period = first
    while period <= last:
        out.append(period)
        period = engine.shift_period(period, 1)
    return out


def batches(ids: list[int]) -> list[list[int]]:
    """Agreement ids cut into the batches that one recompute evaluates together."""
    size = settings.RECOMPUTE_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def agreements_using(
    *, service_ids: Iterable[int] = (), customer_ids: Iterable[int] = ()
) -> list[int]:
    """Agreements whose figures measurements of these services or customers may change."""
    service_ids = list(service_ids)
    ids = set(
        Agreement.objects.filter(
            Q(objectives__service_id__in=service_ids)
            | Q(objectives__listed_services__in=service_ids)  # rule 18
        ).values_list("id", flat=True)
    )
    customer_ids = list(customer_ids)
    if customer_ids:
        ids.update(
            Agreement.objects.filter(customer_id__in=customer_ids).values_list("id", flat=True)
        )
    return sorted(ids)


def recompute_agreement(
    *, agreement_id: int, now: dt.datetime | None = None, period: str | None = None
) -> RecomputeSummary:
    """Evaluate every open period of one agreement (or just ``period``); closed ones stay frozen."""
    summaries = recompute_agreements(agreement_ids=[agreement_id], now=now, period=period)
    if not summaries:
        raise Agreement.DoesNotExist(f"no agreement with id {agreement_id}")
    return summaries[0]


class _Planned(NamedTuple):
    job: Job
    summary: RecomputeSummary
    row: Period | None  # the period's row, when it has one already


class _Evaluated(NamedTuple):
    planned: _Planned
    result: PeriodResult


def recompute_agreements(
    *, agreement_ids: Sequence[int], now: dt.datetime | None = None, period: str | None = None
) -> list[RecomputeSummary]:
    """Evaluate every open period of each agreement (or just ``period``), all in one go.

    The agreement rows are locked for the duration (in id order, so overlapping batches
    never deadlock), so two workers never evaluate the same agreement at once; closing a
    period locks its agreement too. The whole batch costs a constant number of queries
    and one commit. Running it again gives the same state. Agreements that no longer
    exist are left out of the answer.

    A bulkhead: when the batch fails, each agreement is recomputed on its own, and one
    that still fails is recorded (``credits.failures``) with its summary's ``failed`` set,
    while the others are stored; the next pass retries it.
    """
    now = now or timezone.now()
    ids = list(agreement_ids)
    try:
        summaries = _recompute_batch(ids, now=now, period=period)
    except Exception as error:
        if len(ids) != 1:
            return [
                s
                for one in ids
                for s in recompute_agreements(agreement_ids=[one], now=now, period=period)
            ]
        key = Agreement.objects.filter(pk=ids[0]).values_list("key", flat=True).first()
        if key is None:
            raise
        record_failure(agreement_id=ids[0], stage=Failure.Stage.RECOMPUTE, error=error, now=now)
        return [RecomputeSummary(key, [], [], failed=f"{type(error).__name__}: {error}"[:200])]
    return summaries


def _recompute_batch(
    agreement_ids: list[int], *, now: dt.datetime, period: str | None
) -> list[RecomputeSummary]:
    with transaction.atomic():
        # Whether each has an open recompute failure comes with the same read, so a batch
        # that succeeds resolves failures only when there are some (no query otherwise).
        open_failure = Failure.objects.filter(
            agreement=OuterRef("pk"), stage=Failure.Stage.RECOMPUTE, resolved_at__isnull=True
        )
        agreements = list(
            Agreement.objects.select_for_update(of=("self",))
            .filter(pk__in=list(agreement_ids))
            .annotate(failing=Exists(open_failure))
            .order_by("pk")
        )
        recovered = [a.pk for a in agreements if a.failing]
        if recovered:
            resolve_failures(agreement_ids=recovered, stage=Failure.Stage.RECOMPUTE, now=now)
        summaries = [RecomputeSummary(a.key, [], []) for a in agreements]
        planned = _plan(agreements, summaries, now=now, period=period)
        results = evaluate_many([p.job for p in planned])
        done = [
            _Evaluated(p, result)
            for p, result in zip(planned, results, strict=True)
            if result is not None
        ]
        previous = _previous_statuses(done)
        rows = _save_period_rows(done, now)
        store_evaluations([(row, d.result) for row, d in zip(rows, done, strict=True)], now)
        checkpoints.save(
            {row.pk: d.result.new_checkpoints for row, d in zip(rows, done, strict=True)}, now
        )
        for row, (p, result) in zip(rows, done, strict=True):
            _announce_changes(p.job.agreement, row, previous.get(row.pk, {}), result, now)
            p.summary.evaluated.append(p.job.period)
    return summaries


def _plan(
    agreements: Sequence[Agreement],
    summaries: list[RecomputeSummary],
    *,
    now: dt.datetime,
    period: str | None,
) -> list[_Planned]:
    """A job for every open period due (closed ones are noted as skipped), with the
    checkpoints its row has saved."""
    ids = [a.pk for a in agreements]
    versions: dict[int, list[TermsVersion]] = {}
    for v in TermsVersion.objects.filter(agreement_id__in=ids):
        versions.setdefault(v.agreement_id, []).append(v)
    existing = {(p.agreement_id, p.period): p for p in Period.objects.filter(agreement_id__in=ids)}
    saved = checkpoints.saved_for(p.pk for p in existing.values() if not p.is_closed)
    planned = []
    for agreement, summary in zip(agreements, summaries, strict=True):
        for pid in periods_due(agreement, now):
            if period is not None and pid != period:
                continue
            row = existing.get((agreement.pk, pid))
            if row is not None and row.is_closed:
                summary.skipped_closed.append(pid)
                continue
            version = version_in_force(versions.get(agreement.pk, []), pid)
            if version is not None:
                kept = saved.get(row.pk, {}) if row is not None else {}
                job = Job(agreement, pid, version, now, closed=False, saved=kept)
                planned.append(_Planned(job, summary, row))
    return planned


def _previous_statuses(done: list[_Evaluated]) -> dict[int, dict[str, Status]]:
    """Period id -> objective key -> the status stored for the period's current revision."""
    known = {d.planned.row.pk: d.planned.row.revision for d in done if d.planned.row is not None}
    previous: dict[int, dict[str, Status]] = {}
    for e in Evaluation.objects.filter(period_id__in=list(known)).values_list(
        "period_id", "revision", "objective_key", "status", named=True
    ):
        if known[e.period_id] == e.revision:
            previous.setdefault(e.period_id, {})[e.objective_key] = Status(e.status)
    return previous


def _save_period_rows(done: list[_Evaluated], now: dt.datetime) -> list[Period]:
    """The periods' rows, created or updated with their bounds, terms and time of computation."""
    before = {
        d.planned.row.pk: _bounds_and_terms(d.planned.row)
        for d in done
        if d.planned.row is not None
    }
    rows = [period_row(p.job.agreement, p.row, result) for p, result in done]
    for row in rows:
        row.computed_at = now
    Period.objects.bulk_create([row for row in rows if row.pk is None])
    # Usually only the time of computation moves: one UPDATE for all, and a bulk update
    # only for the rare rows whose bounds or terms changed.
    Period.objects.filter(pk__in=list(before)).update(computed_at=now)
    changed = [row for row in rows if row.pk in before and before[row.pk] != _bounds_and_terms(row)]
    if changed:
        Period.objects.bulk_update(changed, ["start", "end", "closes_at", "terms_version"])
    return rows


def _bounds_and_terms(row: Period) -> tuple[object, ...]:
    return (row.start, row.end, row.closes_at, row.terms_version_id)


def _announce_changes(
    agreement: Agreement,
    row: Period,
    previous: dict[str, Status],
    result: PeriodResult,
    now: dt.datetime,
) -> None:
    for r in result.objectives:
        before = previous.get(r.terms.key)
        if before != r.status:
            transaction.on_commit(
                partial(
                    signals.objective_status_changed.send,
                    sender=Period,
                    agreement=agreement,
                    period=row,
                    objective_key=r.terms.key,
                    previous=before,
                    current=r.status,
                    at=now,
                )
            )
