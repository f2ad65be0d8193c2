from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agreements.models import Service
from integrations.models import PrometheusQuery, PrometheusSource


class Command(BaseCommand):
    help = (
        "Create or update a Prometheus data source and the PromQL that measures one "
        "service there (probe success and latency, or good and total events)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="the source name (what measured_by lists)")
        parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:9090")
        parser.add_argument("--service", required=True, metavar="KEY")
        parser.add_argument("--probe-success", metavar="PROMQL")
        parser.add_argument("--probe-latency-seconds", metavar="PROMQL")
        parser.add_argument("--good", metavar="PROMQL")
        parser.add_argument("--total", metavar="PROMQL")
        parser.add_argument("--bearer-token")
        parser.add_argument("--basic-auth", metavar="USER:PASSWORD")
        parser.add_argument("--timeout", type=int, metavar="SECONDS")

    def handle(self, *args: Any, **options: Any) -> None:
        probes = options["probe_success"] is not None
        events = options["good"] is not None or options["total"] is not None
        if probes == events:
            raise CommandError("give either --probe-success or --good and --total")
        if events and (options["good"] is None or options["total"] is None):
            raise CommandError("--good and --total go together")
        if options["probe_latency_seconds"] is not None and not probes:
            raise CommandError("--probe-latency-seconds goes with --probe-success")
        try:
            service = Service.objects.get(key=options["service"])
        except Service.DoesNotExist:
            raise CommandError(f"--service: unknown service {options['service']!r}") from None
        with transaction.atomic():
            source = PrometheusSource.objects.filter(name=options["name"]).first()
            created = source is None
            source = source or PrometheusSource(name=options["name"])
            source.base_url = options["url"]
            if options["bearer_token"] is not None:
                source.bearer_token = options["bearer_token"]
            if options["basic_auth"] is not None:
                user, sep, password = options["basic_auth"].partition(":")
                if not sep:
                    raise CommandError("--basic-auth: give USER:PASSWORD")
                source.basic_username, source.basic_password = user, password
            if options["timeout"] is not None:
                source.timeout_seconds = options["timeout"]
            query = (
                PrometheusQuery.objects.filter(source=source, service=service).first()
                if not created
                else None
            ) or PrometheusQuery(service=service)
            query.kind = PrometheusQuery.Kind.PROBES if probes else PrometheusQuery.Kind.EVENTS
            query.probe_success = options["probe_success"] or ""
            query.probe_latency_seconds = options["probe_latency_seconds"] or ""
            query.good = options["good"] or ""
            query.total = options["total"] or ""
            try:
                source.full_clean()
                source.save()
                query.source = source
                query.full_clean()
                query.save()
            except ValidationError as error:
                problems = "; ".join(
                    f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
                )
                raise CommandError(problems) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {source.name}: {service.key} measured by {query.kind}")
