"""On PostgreSQL, the database refuses to TRUNCATE the ledger as well.

The row trigger of 0002 does not fire on TRUNCATE. This statement trigger refuses it for
every role. A superuser who means it (emptying a test database) sets
``session_replication_role = replica`` first, which only a superuser may do.
"""

from django.db import migrations

FORWARDS = """
CREATE OR REPLACE FUNCTION credits_ledger_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger cannot be truncated: it is append-only'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_ledgerentry_no_truncate
    BEFORE TRUNCATE ON credits_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION credits_ledger_no_truncate();
"""
BACKWARDS = """
DROP TRIGGER IF EXISTS credits_ledgerentry_no_truncate ON credits_ledgerentry;
DROP FUNCTION IF EXISTS credits_ledger_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("credits", "0004_evaluation_status_choices")]
    operations = [migrations.RunPython(forwards, backwards)]
