"""Notice, renewal and amendments (SPEC §3 rule 20): each a service writing the agreement,
its terms version and an event in one transaction."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from agreements.document import DocumentError, validate
from agreements.models import Agreement
from agreements.services import agreement_import, current_period, record_terms_version
from agreements.text import TextError, single_line
from contracts.models import Amendment, Notice
from credits.recompute import version_in_force
from notifications.models import EventType
from notifications.services.events import record_event

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
REASON_MAX_LENGTH = 300
NOTE_MAX_LENGTH = 2000


class ContractError(ValueError):
    """A refused step of the contract's life: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _text(value: object, field: str, *, max_length: int, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise ContractError(field, "is required")
        return ""
    try:
        return single_line(value, field, max_length=max_length)
    except TextError as error:
        raise ContractError(field, error.message) from None


def _local_today(agreement: Agreement, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(agreement.timezone)).date()


# -- Notice and renewal ----------------------------------------------------------------------


def notice_end(agreement: Agreement, *, given_at: dt.datetime, end_on: dt.date | None) -> dt.date:
    """The last day (inclusive) of ``agreement`` after notice given at ``given_at``: the
    local day ``notice_period_days`` after it (rule 20), or the later ``end_on`` asked
    for; never later than an end already fixed, never before ``effective_from``.

    Raises ContractError("end_on") when ``end_on`` comes before the notice period allows.
    """
    earliest = _local_today(agreement, given_at) + dt.timedelta(
        days=agreement.notice_period_days or 0
    )
    if end_on is not None and end_on < earliest:
        raise ContractError(
            "end_on",
            f"must be on or after {earliest.isoformat()}: the agreement asks for "
            f"{agreement.notice_period_days or 0} days' notice",
        )
    end = end_on or earliest
    if agreement.effective_to is not None:
        end = min(end, agreement.effective_to)
    return max(end, agreement.effective_from)


@transaction.atomic
def notice_give(
    *,
    agreement: Agreement,
    by: str,
    reason: object = "",
    end_on: dt.date | None = None,
    actor: str,
    now: dt.datetime | None = None,
) -> Notice:
    """Record notice of termination by ``by`` ("customer" or "provider") and end the
    agreement: ``effective_to`` becomes ``notice_end(...)`` through a new terms version
    from the current period, so no renewal follows. Raises ContractError naming the field
    (a second notice, a bad ``by``, an ``end_on`` too early, a bad reason)."""
    now = now or timezone.now()
    if by not in Notice.By.values:
        raise ContractError("by", "must be customer or provider")
    reason = _text(reason, "reason", max_length=REASON_MAX_LENGTH)
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    existing = Notice.objects.filter(agreement=agreement).first()
    if existing is not None:
        raise ContractError(
            "agreement",
            f"notice was already given by {existing.get_by_display()} on "
            f"{existing.given_at:%Y-%m-%d}: it ends on {existing.end_on.isoformat()}",
        )
    end = notice_end(agreement, given_at=now, end_on=end_on)
    notice = Notice.objects.create(
        agreement=agreement,
        by=by,
        reason=reason,
        given_by=actor,
        given_at=now,
        requested_end_on=end_on,
        end_on=end,
    )
    _set_end(agreement, end, actor=actor, now=now, note=f"notice given by the {by}")
    record_event(
        agreement=agreement,
        type=EventType.NOTICE_GIVEN,
        key=f"agreement.notice_given:{agreement.pk}:{notice.pk}",
        occurred_at=now,
        summary=f"{agreement.name}: notice given by the {by}; the agreement ends on {end}",
        data={"by": by, "reason": reason, "effective_to": end.isoformat()},
    )
    return notice


def _set_end(
    agreement: Agreement, end: dt.date | None, *, actor: str, now: dt.datetime, note: str
) -> None:
    """Move ``effective_to`` to ``end`` in the terms of the current period and of every
    later one an accepted amendment already fixed, leaving their other terms alone (an
    amendment from a later period must not apply early)."""
    agreement.effective_to = end
    agreement.save(update_fields=["effective_to", "updated_at"])
    versions = list(agreement.versions.all())
    current = current_period(agreement.timezone, now=now)
    later = sorted({v.effective_period for v in versions if v.effective_period > current})
    for period in [current, *later]:
        base = version_in_force(versions, period)
        if base is None:
            continue
        terms = {**base.terms, "effective_to": end.isoformat() if end else None}
        record_terms_version(
            agreement=agreement,
            actor=actor,
            now=now,
            terms=terms,
            note=note,
            effective_period=period,
        )


@transaction.atomic
def renew_if_due(*, agreement: Agreement, now: dt.datetime | None = None) -> dt.date | None:
    """Renew ``agreement`` for ``auto_renew_months`` on its last day when no notice was
    given (rule 20); return the new ``effective_to``, or None when nothing is due. An
    agreement that ended longer ago is renewed in as many steps as it needs, so a missed
    day of the scheduler loses nothing. Idempotent."""
    now = now or timezone.now()
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    months = agreement.auto_renew_months
    end = agreement.effective_to
    if not months or end is None or Notice.objects.filter(agreement=agreement).exists():
        return None
    today = _local_today(agreement, now)
    if today < end:
        return None
    new_end = end
    while new_end <= today:
        new_end = new_end + relativedelta(months=months)
    _set_end(agreement, new_end, actor="auto-renewal", now=now, note=f"renewed for {months} months")
    record_event(
        agreement=agreement,
        type=EventType.AGREEMENT_RENEWED,
        key=f"agreement.renewed:{agreement.pk}:{end.isoformat()}",
        occurred_at=now,
        summary=f"{agreement.name} renewed for {months} months: now ends on {new_end}",
        data={"previous_effective_to": end.isoformat(), "effective_to": new_end.isoformat()},
    )
    return new_end


# -- Amendments -------------------------------------------------------------------------------


def _period_not_started(agreement: Agreement, period: object, now: dt.datetime) -> str:
    if not isinstance(period, str) or not PERIOD.fullmatch(period):
        raise ContractError("effective_period", "must be a period id YYYY-MM")
    current = current_period(agreement.timezone, now=now)
    if period <= current:
        raise ContractError(
            "effective_period", f"must be a period that has not started (after {current})"
        )
    return period


@transaction.atomic
def amendment_propose(
    *,
    agreement: Agreement,
    document: Any,
    effective_period: object,
    note: object,
    actor: str,
    now: dt.datetime | None = None,
) -> Amendment:
    """The provider proposes ``document`` as the agreement's terms from
    ``effective_period``, a period that has not started. Nothing applies until the
    customer accepts (rule 20). Raises ContractError or DocumentError naming the field
    (``document.objectives[0].target: ...``)."""
    now = now or timezone.now()
    note = _text(note, "note", max_length=NOTE_MAX_LENGTH, required=True)
    period = _period_not_started(agreement, effective_period, now)
    try:
        canonical = validate(document)
    except DocumentError as error:
        errors = [(f"document.{p}" if p else "document", m) for p, m in error.errors]
        raise DocumentError(errors) from None
    if canonical["agreement"] != agreement.key:
        raise ContractError("document.agreement", f"must be {agreement.key!r}")
    if canonical["customer"]["key"] != agreement.customer.key:
        raise ContractError("document.customer.key", f"must be {agreement.customer.key!r}")
    amendment = Amendment.objects.create(
        agreement=agreement,
        document=canonical,
        effective_period=period,
        note=note,
        proposed_by=actor,
        proposed_at=now,
    )
    record_event(
        agreement=agreement,
        type=EventType.AMENDMENT_PROPOSED,
        key=f"amendment.proposed:{amendment.pk}",
        occurred_at=now,
        summary=f"{agreement.name}: new terms proposed from {period}; your acceptance is needed",
        data={"amendment": amendment.pk, "effective_period": period, "note": note},
    )
    return amendment


@transaction.atomic
def amendment_decide(
    *,
    amendment: Amendment,
    accept: bool,
    actor: str,
    note: object = "",
    now: dt.datetime | None = None,
) -> Amendment:
    """The customer accepts or rejects a proposed amendment (rule 20). Accepting applies
    its document through ``agreement_import``: a new terms version from its
    ``effective_period``. Raises ContractError when it was already decided or its period
    has started meanwhile (the provider must propose again)."""
    now = now or timezone.now()
    amendment = (
        Amendment.objects.select_for_update().select_related("agreement").get(pk=amendment.pk)
    )
    if amendment.status != Amendment.Status.PROPOSED:
        raise ContractError("status", f"this amendment was already {amendment.status}")
    decision_note = _text(note, "note", max_length=REASON_MAX_LENGTH)
    agreement = amendment.agreement
    if accept:
        _period_not_started(agreement, amendment.effective_period, now)
        result = agreement_import(
            data=amendment.document,
            actor=actor,
            now=now,
            effective_period=amendment.effective_period,
            note=f"amendment {amendment.pk} accepted by {actor}",
        )
        amendment.version = result.version
    amendment.status = Amendment.Status.ACCEPTED if accept else Amendment.Status.REJECTED
    amendment.decided_by, amendment.decided_at = actor, now
    amendment.decision_note = decision_note
    amendment.save()
    record_event(
        agreement=agreement,
        type=EventType.AMENDMENT_ACCEPTED if accept else EventType.AMENDMENT_REJECTED,
        key=f"amendment.{amendment.status}:{amendment.pk}",
        occurred_at=now,
        summary=f"{agreement.name}: the amendment from {amendment.effective_period} was "
        f"{amendment.status} by {actor}",
        data={"amendment": amendment.pk, "effective_period": amendment.effective_period},
    )
    return amendment
