from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from credits.closing import CloseError, close_due_periods
from credits.models import Failure


class Command(BaseCommand):
    help = "Close every period whose data grace time has passed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--now",
            metavar="ISO-8601",
            help="act as if it were this earlier instant (never later than the real clock)",
        )

    def handle(self, *args: Any, now: str | None, **options: Any) -> None:
        instant = timezone.now()
        if now is not None:
            try:
                instant = dt.datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(f"--now: {now!r} is not an ISO 8601 instant") from None
            if instant.tzinfo is None:
                raise CommandError("--now: give a UTC offset, e.g. 2026-04-02T00:00:00Z")
        try:
            closed = close_due_periods(now=instant)
        except CloseError as error:
            raise CommandError(f"--now: {error}") from None
        failed = list(
            Failure.objects.filter(
                stage=Failure.Stage.CLOSE, resolved_at__isnull=True, last_at=instant
            ).select_related("agreement")
        )
        if not closed:
            self.stdout.write("No period to close.")
        for period in closed:
            self.stdout.write(
                f"Closed {period.agreement.key} {period.period}: credit {period.credit_amount} "
                f"{period.agreement.currency}"
            )
        if failed:
            lines = "; ".join(f"{f.agreement.key} {f.period}: {f.error}" for f in failed)
            raise CommandError(
                f"{len(failed)} period(s) could not close (kept in admin, retried): {lines}"
            )
