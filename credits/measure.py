"""Reading measurements for many objectives at once, in a constant number of queries.

Each reader takes "requests": (tag, owner id, intervals) and answers per tag. Intervals
are sent as one VALUES list joined to the table, so ten objectives cost the same number
of queries as one. Availability from probes reads the per-day summary for whole UTC days
and the per-minute summary only for the parts of days at the edges of the intervals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection

from agreements import engine

Request = tuple[str, int, Sequence[engine.Interval]]
DAY = dt.timedelta(days=1)


def _dt(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _date(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _values(rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    width = len(rows[0])
    one = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([one] * len(rows)), [value for row in rows for value in row]


def split_days(
    ranges: Sequence[engine.Interval],
) -> tuple[list[tuple[dt.date, dt.date]], list[engine.Interval]]:
    """Whole UTC days inside the ranges (as [first, last] inclusive), and the remainders."""
    days: list[tuple[dt.date, dt.date]] = []
    edges: list[engine.Interval] = []
    for start, end in ranges:
        first = (
            start
            if start.time() == dt.time(0)
            else (start + DAY).replace(hour=0, minute=0, second=0, microsecond=0)
        )
        last_end = end.replace(hour=0, minute=0, second=0, microsecond=0)
        if first + DAY <= last_end:
            days.append((first.date(), (last_end - DAY).date()))
            if start < first:
                edges.append((start, first))
            if last_end < end:
                edges.append((last_end, end))
        else:
            edges.append((start, end))
    return days, edges


def probe_minute_states(requests: list[Request]) -> dict[str, tuple[int, int]]:
    """Up and down minutes (rule 4) inside each request's eligible minute ranges."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    day_rows: list[tuple[Any, ...]] = []
    minute_rows: list[tuple[Any, ...]] = []
    for tag, sid, ranges in requests:
        out[tag]
        days, edges = split_days(ranges)
        day_rows.extend((tag, sid, _date(a), _date(b)) for a, b in days)
        minute_rows.extend((tag, sid, _dt(a), _dt(b)) for a, b in edges)
    with connection.cursor() as cursor:
        if day_rows:
            values, params = _values(day_rows)
            cursor.execute(
                f"WITH r(tag, sid, a, b) AS (VALUES {values}) "  # noqa: S608 (placeholders only)
                "SELECT r.tag, SUM(d.up), SUM(d.down) FROM r JOIN metrics_probeday d "
                "ON d.service_id = r.sid AND d.day >= r.a AND d.day <= r.b GROUP BY r.tag",
                params,
            )
            for tag, up, down in cursor.fetchall():
                out[tag][0] += int(up or 0)
                out[tag][1] += int(down or 0)
        if minute_rows:
            values, params = _values(minute_rows)
            cursor.execute(
                f"WITH r(tag, sid, a, b) AS (VALUES {values}) "  # noqa: S608
                "SELECT r.tag, "
                "SUM(CASE WHEN m.ok + m.failed > 0 AND 2 * m.failed <= m.ok + m.failed THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN 2 * m.failed > m.ok + m.failed THEN 1 ELSE 0 END) "
                "FROM r JOIN metrics_probeminute m "
                "ON m.service_id = r.sid AND m.minute >= r.a AND m.minute < r.b GROUP BY r.tag",
                params,
            )
            for tag, up, down in cursor.fetchall():
                out[tag][0] += int(up or 0)
                out[tag][1] += int(down or 0)
    return {tag: (up, down) for tag, (up, down) in out.items()}


def latency_counts(
    requests: Sequence[tuple[str, int, Sequence[engine.Interval], int]],
) -> dict[str, tuple[int, int]]:
    """(fast, total) successful probes per request, fast meaning latency <= threshold.

    Whole UTC days come from the per-day latency summary of that threshold (the caller
    makes sure the threshold is registered); the rest from the raw rows.
    """
    out: dict[str, list[int]] = {tag: [0, 0] for tag, *_ in requests}
    day_rows: list[tuple[Any, ...]] = []
    edge_rows: list[tuple[Any, ...]] = []
    for tag, sid, ranges, threshold in requests:
        days, edges = split_days(ranges)
        day_rows.extend((tag, sid, _date(a), _date(b), threshold) for a, b in days)
        edge_rows.extend((tag, sid, _dt(a), _dt(b), threshold) for a, b in edges)
    with connection.cursor() as cursor:
        if day_rows:
            values, params = _values(day_rows)
            cursor.execute(
                f"WITH r(tag, sid, a, b, t) AS (VALUES {values}) "  # noqa: S608
                "SELECT r.tag, SUM(d.fast), SUM(d.total) FROM r JOIN metrics_probelatencyday d "
                "ON d.service_id = r.sid AND d.threshold_ms = r.t AND d.day >= r.a AND d.day <= r.b "
                "GROUP BY r.tag",
                params,
            )
            for tag, fast, total in cursor.fetchall():
                out[tag][0] += int(fast or 0)
                out[tag][1] += int(total or 0)
        if edge_rows:
            values, params = _values(edge_rows)
            cursor.execute(
                f"WITH r(tag, sid, a, b, t) AS (VALUES {values}) "  # noqa: S608
                "SELECT r.tag, SUM(CASE WHEN p.latency_ms <= r.t THEN 1 ELSE 0 END), COUNT(*) "
                "FROM r JOIN metrics_proberesult p ON p.service_id = r.sid AND p.ts >= r.a AND p.ts < r.b "
                "WHERE p.ok AND p.latency_ms IS NOT NULL GROUP BY r.tag",
                params,
            )
            for tag, fast, total in cursor.fetchall():
                out[tag][0] += int(fast or 0)
                out[tag][1] += int(total or 0)
    return {tag: (fast, total) for tag, (fast, total) in out.items()}


def event_sums(requests: list[Request]) -> dict[str, tuple[int, int]]:
    """(Σgood, Σtotal) of event counts inside each request's intervals."""
    rows = [(tag, sid, _dt(a), _dt(b)) for tag, sid, ranges in requests for a, b in ranges]
    out = {tag: (0, 0) for tag, *_ in requests}
    if not rows:
        return out
    values, params = _values(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH r(tag, sid, a, b) AS (VALUES {values}) "  # noqa: S608
            "SELECT r.tag, SUM(e.good), SUM(e.total) FROM r JOIN metrics_eventcount e "
            "ON e.service_id = r.sid AND e.ts >= r.a AND e.ts < r.b GROUP BY r.tag",
            params,
        )
        for tag, good, total in cursor.fetchall():
            out[tag] = (int(good or 0), int(total or 0))
    return out
