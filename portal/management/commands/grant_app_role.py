"""Give the application its own PostgreSQL role, which may read and append to the ledger
but never change, delete or empty it.

Run as the role that owns the tables (the one running migrations), after each
``migrate``: tables added by a migration get their grants then.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from credits.models import LedgerEntry
from metrics import partitions


def grant_statements(role: str, *, schema: str, database: str, ledger: str) -> list[str]:
    q = connection.ops.quote_name
    role, schema, database, ledger = q(role), q(schema), q(database), q(ledger)
    return [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
        # CREATE: the monthly probe partitions are created at run time (beat).
        f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # The ledger: read and append only (the owner keeps its triggers out of reach).
        f"REVOKE ALL ON {ledger} FROM {role}",
        f"GRANT SELECT, INSERT ON {ledger} TO {role}",
    ]


class Command(BaseCommand):
    help = (
        "Create (if missing) and grant the application's PostgreSQL role: normal rights "
        "on every table, SELECT and INSERT only on the ledger. Run as the table owner."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the application connects as")
        parser.add_argument(
            "--password", help="create the role with this password (LOGIN), or set it"
        )

    def handle(self, *args: Any, role: str, password: str | None, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role is for PostgreSQL only")
        q = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, current_schema(), current_database(), "
                "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
                [role],
            )
            owner, schema, database, exists = cursor.fetchone()
            if role == owner:
                raise CommandError(f"{role!r} is the role running this: the owner, not the app")
            if not exists:
                cursor.execute(f"CREATE ROLE {q(role)} LOGIN")
                self.stdout.write(f"created role {role}")
            if password:
                cursor.execute(f"ALTER ROLE {q(role)} LOGIN PASSWORD %s", [password])
            for sql in grant_statements(
                role, schema=schema, database=database, ledger=LedgerEntry._meta.db_table
            ):
                cursor.execute(sql)
            self._hand_over_partitions(cursor, role, owner)
        self.stdout.write(f"granted {role}: SELECT and INSERT only on the ledger")

    def _hand_over_partitions(self, cursor: Any, role: str, owner: str) -> None:
        """Creating and dropping partitions needs the partitioned table's ownership: the
        probe table goes to the application role, and the owner becomes a member of it
        so migrations can still alter it."""
        if not partitions.is_partitioned():
            return
        q = connection.ops.quote_name
        cursor.execute(f"GRANT {q(role)} TO {q(owner)}")
        tables = [partitions.TABLE, *partitions.existing_partitions().values()]
        for table in tables:
            cursor.execute(f"ALTER TABLE {q(table)} OWNER TO {q(role)}")
