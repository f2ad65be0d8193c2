from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agreements import display
from agreements.models import Agreement
from credits.recompute import recompute_agreement


class Command(BaseCommand):
    help = "Recompute open periods now (synchronously) and print a summary."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--agreement", metavar="KEY")
        parser.add_argument("--period", metavar="YYYY-MM")

    def handle(self, *args: Any, agreement: str | None, period: str | None, **options: Any) -> None:
        if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            raise CommandError(f"--period: {period!r} is not a period id like 2026-03")
        agreements = Agreement.objects.order_by("key")
        if agreement is not None:
            agreements = agreements.filter(key=agreement)
            if not agreements.exists():
                raise CommandError(f"--agreement: no agreement with key {agreement!r}")
        for item in agreements:
            summary = recompute_agreement(agreement_id=item.pk, period=period)
            self.stdout.write(summary.line())
            for pid in summary.skipped_closed:
                if period is not None:
                    self.stdout.write(
                        f"  {pid} is closed: its figures are frozen (re-evaluate it in admin)"
                    )
            from credits.models import Evaluation

            for evaluation in (
                Evaluation.objects.filter(
                    period__agreement=item, period__period__in=summary.evaluated
                )
                .select_related("period")
                .order_by("period__period", "position")
            ):
                achieved = display.percent(evaluation.achieved, evaluation.target)
                self.stdout.write(
                    f"  {evaluation.period.period} {evaluation.objective_key}: {achieved} "
                    f"(target {evaluation.target.normalize():f}%) {evaluation.status}"
                )
