from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.models import PrometheusSource
from integrations.prometheus import sources_pull


class Command(BaseCommand):
    help = "Read the Prometheus data sources now, from where each last stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--source", metavar="NAME", help="only this source")
        parser.add_argument(
            "--since",
            metavar="ISO-8601",
            help="read from this instant instead of where the source stopped",
        )

    def handle(self, *args: Any, source: str | None, since: str | None, **options: Any) -> None:
        start = None
        if since is not None:
            try:
                start = dt.datetime.fromisoformat(since)
            except ValueError:
                raise CommandError(f"--since: {since!r} is not an ISO 8601 instant") from None
            if start.tzinfo is None:
                raise CommandError("--since: give a UTC offset, e.g. 2026-04-02T00:00:00Z")
        if source is not None and not PrometheusSource.objects.filter(name=source).exists():
            raise CommandError(f"--source: no Prometheus source named {source!r}")
        results = sources_pull(name=source, since=start)
        if not results:
            self.stdout.write("No enabled Prometheus source.")
        failed = []
        for result in results:
            until = result.pulled_until.isoformat() if result.pulled_until else "nothing yet"
            self.stdout.write(
                f"{result.source}: {result.accepted} stored, {result.duplicates} already "
                f"there, read up to {until}"
            )
            for line in result.skipped:
                self.stdout.write(f"{result.source}: skipped {line}")
            if result.error:
                failed.append(f"{result.source}: {result.error}")
        if failed:
            raise CommandError("; ".join(failed))
