"""Recording an exclusion (SPEC §3 rule 3, §4 ``POST /api/v1/exclusions/``).

An exclusion is the provider's statement that a stretch of a service's time is not its
responsibility. It changes covered time, so it is announced like measurements: the
open period is recomputed, and a closed period it touches is flagged for restatement
(rule 13), never changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements.models import Service
from agreements.text import single_line
from metrics import ingest
from metrics.models import Exclusion, LateArrival
from metrics.services import IngestResult
from metrics.signals import measurements_received, measurements_stored

__all__ = [
    "EXCLUSION_FIELDS",
    "ExclusionError",
    "ExclusionInput",
    "exclusion_input",
    "exclusion_record",
]

EXCLUSION_FIELDS = ("service", "external_id", "start", "end", "reason", "note")
NOTE_MAX_LENGTH = 2000


class ExclusionError(ValueError):
    """A bad exclusion: ``field`` names the field, ``message`` says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ExclusionInput:
    service: Service
    external_id: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    note: str


def exclusion_input(body: Any, *, now: dt.datetime | None = None) -> ExclusionInput:
    """The exclusion in JSON object ``body`` (``{"service", "external_id", "start", "end",
    "reason", "note"}``, ISO 8601 instants with an offset), checked.

    Raises ExclusionError naming the first bad field: unknown fields, a missing one, an
    unknown service, ``end`` not after ``start``, a reason not among
    ``Exclusion.Reason``, an empty note.
    """
    if not isinstance(body, dict):
        raise ExclusionError("body", "must be a JSON object")
    unknown = sorted(k for k in body if k not in EXCLUSION_FIELDS)
    if unknown:
        raise ExclusionError(str(unknown[0])[:64], "unknown field")
    for name in EXCLUSION_FIELDS:
        if body.get(name) is None:
            raise ExclusionError(name, "is required")
    ctx = ingest.Context(now=now or timezone.now(), services={}, customers={})
    try:
        external_id = ingest.text(body["external_id"], "external_id", max_length=128)
        start = ingest.timestamp(body["start"], "start", ctx, future_ok=True)
        end = ingest.timestamp(body["end"], "end", ctx, future_ok=True)
        service_key = ingest.text(body["service"], "service", max_length=64)
    except ingest._RecordError as error:
        raise ExclusionError(error.field or "body", error.message) from None
    if end <= start:
        raise ExclusionError("end", "must be after start")
    if body["reason"] not in Exclusion.Reason.values:
        raise ExclusionError("reason", f"must be one of {', '.join(Exclusion.Reason.values)}")
    note = body["note"]
    if not isinstance(note, str) or not note.strip():
        raise ExclusionError("note", "must say why the time is excluded")
    if len(note) > NOTE_MAX_LENGTH:
        raise ExclusionError("note", f"must be at most {NOTE_MAX_LENGTH} characters")
    service = Service.objects.filter(key=service_key).first()
    if service is None:
        raise ExclusionError("service", f"unknown service {service_key!r}")
    return ExclusionInput(service, external_id, start, end, body["reason"], note.strip())


@transaction.atomic
def exclusion_record(*, data: ExclusionInput, actor: str) -> tuple[Exclusion, bool]:
    """Store exclusion ``data`` by (service, external_id), creating or updating it, and
    return it with True when it was created.

    The covered time changes over the old and the new span: their open periods are
    recomputed, and a closed period among them is flagged (``late_data``) and logged as
    a ``LateArrival`` for staff to restate (rule 13).
    """
    actor = single_line(actor, "actor", max_length=150) if actor else "unknown"
    existing = (
        Exclusion.objects.select_for_update()
        .filter(service=data.service, external_id=data.external_id)
        .first()
    )
    first, last = data.start, data.end
    if existing is not None:
        first, last = min(first, existing.start), max(last, existing.end)
    values = {
        "start": data.start,
        "end": data.end,
        "reason": data.reason,
        "note": data.note,
        "recorded_by": actor,
        "recorded_at": timezone.now(),
    }
    row, created = Exclusion.objects.update_or_create(
        service=data.service, external_id=data.external_id, defaults=values
    )
    exclusion_changed(service=data.service, first=first, last=last)
    return row, created


def exclusion_changed(*, service: Service, first: dt.datetime, last: dt.datetime) -> None:
    """Tell the evaluation that ``service``'s covered time changed in ``[first, last)``:
    a closed period there is flagged, the open ones recomputed after commit."""
    closed_until = Service.objects.filter(pk=service.pk).values_list("closed_until", flat=True)[0]
    late = closed_until is not None and first < closed_until
    if late:
        assert closed_until is not None
        LateArrival.objects.create(
            kind="exclusions",
            service=service,
            records=1,
            first_ts=first,
            last_ts=min(last, closed_until),
        )
    # Checkpoints of the open period that the changed span falls into are stale now.
    stored = IngestResult(
        accepted=1, late=int(late), service_ids={service.pk}, first=first, last=last
    )
    measurements_stored.send(sender=Exclusion, result=stored)
    transaction.on_commit(
        lambda: measurements_received.send(
            sender="exclusions",
            kind="exclusions",
            service_ids=[service.pk],
            customer_ids=[],
            first=first,
            last=last,
            late=int(late),
        )
    )
