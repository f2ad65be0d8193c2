"""Reminders before an agreement ends and before the last day to give notice (rule 20).

Each reminder is an event with its own idempotency key, so it goes out once whatever
the number of runs; after a missed run only the nearest mark still due is sent.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from agreements.models import Agreement
from contracts.models import Notice
from notifications.models import Event, EventType
from notifications.services.events import record_event

MARKS = (90, 30, 7)  # days ahead


def _mark(days_left: int) -> int | None:
    """The nearest mark ``days_left`` has reached (7 at 5 days left), or None."""
    due = [m for m in MARKS if 0 <= days_left <= m]
    return min(due) if due else None


def last_notice_day(agreement: Agreement) -> dt.date | None:
    """The last day notice can be given for the agreement to end on its ``effective_to``
    (None without an end or a notice period)."""
    if agreement.effective_to is None or agreement.notice_period_days is None:
        return None
    return agreement.effective_to - dt.timedelta(days=agreement.notice_period_days)


def send_reminders(*, now: dt.datetime | None = None) -> list[Event]:
    """Raise the due ``agreement.ending`` and ``agreement.notice_deadline`` events of every
    agreement with an end date; return the new ones."""
    now = now or timezone.now()
    noticed = set(Notice.objects.values_list("agreement_id", flat=True))
    raised: list[Event | None] = []
    for agreement in Agreement.objects.filter(effective_to__isnull=False).select_related(
        "customer"
    ):
        assert agreement.effective_to is not None
        today = now.astimezone(ZoneInfo(agreement.timezone)).date()
        renews = bool(agreement.auto_renew_months) and agreement.pk not in noticed
        end = agreement.effective_to
        mark = _mark((end - today).days)
        if mark is not None:
            after = (
                f"renews for {agreement.auto_renew_months} months unless notice is given"
                if renews
                else "ends"
            )
            raised.append(
                record_event(
                    agreement=agreement,
                    type=EventType.AGREEMENT_ENDING,
                    key=f"agreement.ending:{agreement.pk}:{end.isoformat()}:{mark}",
                    occurred_at=now,
                    summary=f"{agreement.name} {after} on {end} ({mark} days' reminder)",
                    data={"effective_to": end.isoformat(), "days": mark, "renews": renews},
                )
            )
        deadline = last_notice_day(agreement)
        if deadline is not None and agreement.pk not in noticed:
            mark = _mark((deadline - today).days)
            if mark is not None:
                raised.append(
                    record_event(
                        agreement=agreement,
                        type=EventType.NOTICE_DEADLINE,
                        key=f"agreement.notice_deadline:{agreement.pk}:{deadline.isoformat()}:{mark}",
                        occurred_at=now,
                        summary=f"{agreement.name}: the last day to give notice is {deadline} "
                        f"({mark} days' reminder)",
                        data={"last_notice_day": deadline.isoformat(), "days": mark},
                    )
                )
    return [e for e in raised if e is not None]
