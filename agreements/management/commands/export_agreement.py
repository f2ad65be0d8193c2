from __future__ import annotations

import contextlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError

from agreements import openslo
from agreements.models import Agreement
from agreements.services import agreement_export, printable_document


def _numbers(value: Any) -> Any:
    """Percents are kept as exact text internally; write them back as numbers."""
    if isinstance(value, dict):
        return {
            k: (
                _to_number(v)
                if k in {"target", "below", "above", "max", "min", "percent", "credit_cap_percent"}
                else _numbers(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _to_number(value: Any) -> Any:
    # Durations ("4h", bounds of mttr and mtbf) stay text.
    if isinstance(value, str):
        with contextlib.suppress(InvalidOperation):
            return Decimal(value)
    return value


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    Decimal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:float", format(v, "f"))
)


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            # Exact for the few digits of a percent; checked so nothing is silently rounded.
            as_float = float(o)
            if Decimal(repr(as_float)) != o:
                return str(o)
            return as_float
        return super().default(o)


class Command(BaseCommand):
    help = "Print an agreement's current document (YAML by default; OpenSLO v1 SLOs)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key")
        parser.add_argument("--format", choices=["yaml", "json", "openslo"], default="yaml")

    def handle(self, *args: Any, key: str, format: str, **options: Any) -> None:
        agreement = Agreement.objects.filter(key=key).first()
        if agreement is None:
            raise CommandError(f"no agreement with key {key!r}")
        document = _numbers(printable_document(agreement_export(agreement)))
        if format == "openslo":
            self.stdout.write(openslo.export_text(document))
        elif format == "json":
            self.stdout.write(json.dumps(document, indent=2, cls=_Encoder))
        else:
            self.stdout.write(
                yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True).rstrip()
            )
