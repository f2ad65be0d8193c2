from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agreements.models import ApiKey, Customer


class Command(BaseCommand):
    help = "Create an API key. The secret is printed once, alone on the last line."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            dest="scopes",
            help="ingest, read or write; repeat for several, or give several at once",
            nargs="+",
        )
        parser.add_argument("--customer", help="bind the key to this customer's data only")

    def handle(
        self, *args: Any, name: str, scopes: list[list[str]], customer: str | None, **options: Any
    ) -> None:
        flat = [s for group in scopes for part in group for s in part.split(",") if s]
        valid = {choice for choice, _ in ApiKey.Scope.choices}
        unknown = sorted(set(flat) - valid)
        if unknown:
            raise CommandError(
                f"--scope: unknown scope(s) {', '.join(unknown)}; use ingest, read or write"
            )
        if not name.strip():
            raise CommandError("NAME: must not be empty")
        bound = None
        if customer:
            bound = Customer.objects.filter(key=customer).first()
            if bound is None:
                raise CommandError(f"--customer: no customer with key {customer!r}")
        key, secret = ApiKey.generate(name=name.strip(), scopes=flat, customer=bound)
        who = f"customer {bound.key}" if bound else "all customers"
        self.stdout.write(
            f"Created API key {key.name!r} ({key.prefix}…) "
            f"with scopes {', '.join(key.scopes)} for {who}."
        )
        self.stdout.write("Store the secret now; it cannot be shown again:")
        self.stdout.write(secret)
