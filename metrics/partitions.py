"""Monthly partitions of raw probe results on PostgreSQL.

Pruning a month of raw rows is then a DROP of one partition instead of a DELETE of
millions of rows (and the vacuum debt that comes with it). On other databases the
table is an ordinary table and pruning deletes rows.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection

TABLE = "metrics_proberesult"
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})_(\d{{2}})$")


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = %s",
            [TABLE],
        )
        return cursor.fetchone() is not None


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def existing_partitions() -> dict[dt.date, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    out = {}
    for name in names:
        match = _NAME.match(name)
        if match:
            out[dt.date(int(match.group(1)), int(match.group(2)), 1)] = name
    return out


def ensure_partitions(first: dt.date, last: dt.date) -> list[str]:
    """Create the monthly partitions covering ``first``..``last`` (UTC months)."""
    if not is_partitioned():
        return []
    have = existing_partitions()
    created = []
    month = month_start(first)
    while month <= last:
        if month not in have:
            name = partition_name(month)
            upper = add_months(month, 1)
            with connection.cursor() as cursor:
                # Rows of that month that went to the default partition move into the new one.
                cursor.execute(
                    f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                )
                cursor.execute(
                    f"WITH moved AS (DELETE FROM {TABLE}_default WHERE ts >= %s AND ts < %s "  # noqa: S608
                    f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
                    [month, upper],
                )
                cursor.execute(
                    f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
                    [f"{month.isoformat()} 00:00+00", f"{upper.isoformat()} 00:00+00"],
                )
            created.append(name)
        month = add_months(month, 1)
    return created


def drop_partitions_before(cutoff: dt.date) -> list[str]:
    """Drop whole monthly partitions that end on or before ``cutoff``."""
    if not is_partitioned():
        return []
    dropped = []
    for month, name in sorted(existing_partitions().items()):
        if add_months(month, 1) <= cutoff:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped
