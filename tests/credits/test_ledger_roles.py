"""PostgreSQL: a ledger the application cannot rewrite, empty, or unprotect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from credits.checks import ledger_not_owned_by_the_application
from credits.models import LedgerEntry
from tests.credits.test_ledger import AFTER, close, load, shop

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]
LEDGER = LedgerEntry._meta.db_table


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def credited() -> LedgerEntry:
    shop()
    load(ok=95, failed=5)
    close()
    # Django's foreign keys are checked at commit; TRUNCATE refuses to run with such
    # checks pending, which would hide the refusal tested here.
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    return LedgerEntry.objects.get()


def test_truncate_is_refused(credited: LedgerEntry) -> None:
    with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic():
        sql(f"TRUNCATE {LEDGER} CASCADE")
    assert LedgerEntry.objects.count() == 1


def test_deploy_check_warns_when_the_role_can_rewrite_the_ledger() -> None:
    # The test database's role is a superuser (and owns the table).
    [warning] = ledger_not_owned_by_the_application()
    assert warning.id == "credits.W001"
    assert "grant_app_role" in (warning.hint or "")


@pytest.fixture
def app_role(credited: LedgerEntry) -> Iterator[str]:
    """A role made by grant_app_role, connected as with SET ROLE (rolled back after)."""
    role = f"sla_test_app_{os.getpid()}"
    call_command("grant_app_role", role)
    sql(f'SET ROLE "{role}"')
    try:
        yield role
    finally:
        sql("RESET ROLE")


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {LEDGER} SET amount = 0",
        f"DELETE FROM {LEDGER}",
        f"TRUNCATE {LEDGER} CASCADE",
        f"ALTER TABLE {LEDGER} DISABLE TRIGGER ALL",
        f"ALTER TABLE {LEDGER} DISABLE TRIGGER credits_ledgerentry_append_only",
        f"DROP TRIGGER credits_ledgerentry_no_truncate ON {LEDGER}",
    ],
)
def test_the_application_role_cannot_rewrite_the_ledger(app_role: str, statement: str) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        sql(statement)


def test_the_application_role_appends_and_reads(app_role: str, credited: LedgerEntry) -> None:
    entry = LedgerEntry.objects.create(
        agreement=credited.agreement,
        kind="adjustment",
        amount=Decimal("-5.00"),
        currency="EUR",
        idempotency_key="adjust-1",
        created_at=AFTER,
        created_by="staff",
        reason="goodwill correction",
    )
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    # Normal rights elsewhere: the agreement's other tables are written as usual.
    from credits.models import Period

    assert Period.objects.filter(pk=credited.period_id).update(late_data=True) == 1
    # The deploy check is quiet for this role.
    assert ledger_not_owned_by_the_application() == []
