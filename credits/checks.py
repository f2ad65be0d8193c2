"""Deployment check: the application's database role must not be able to rewrite the
ledger (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import DatabaseError, connection

from credits.models import LedgerEntry

HINT = (
    "Run migrations as the owner role and the application as a role that may only read "
    "and append to the ledger: `manage.py grant_app_role ROLE` (README, Deploying)."
)


@checks.register(checks.Tags.security, deploy=True)
def ledger_not_owned_by_the_application(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    if connection.vendor != "postgresql":
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.rolsuper, pg_has_role(current_user, c.relowner, 'USAGE'), current_user "
                "FROM pg_class c, pg_roles r "
                "WHERE c.relname = %s AND r.rolname = current_user",
                [LedgerEntry._meta.db_table],
            )
            found = cursor.fetchone()
    except DatabaseError:  # not reachable: other checks and start-up will say so
        return []
    if found is None:  # not migrated yet
        return []
    superuser, owner, role = found
    if not (superuser or owner):
        return []
    why = "is a superuser" if superuser else "owns the ledger table"
    return [
        checks.Warning(
            f"The database role {role!r} {why}: the application could switch off the "
            "ledger's append-only triggers and rewrite or empty it.",
            hint=HINT,
            id="credits.W001",
        )
    ]
