"""Reading measurements for many objectives at once, in a constant number of queries.

Each reader takes requests (key, owner id, intervals) and answers per key; a key is any
hashable value the caller chooses. Intervals are sent as one VALUES list joined to the
table, each row carrying its request's number, so ten objectives cost the same number of
queries as one. Availability from probes reads the per-day summary for whole UTC days
and the per-minute summary only for the parts of days at the edges of the intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from django.db import connection

from agreements import engine

DAY = dt.timedelta(days=1)


K = TypeVar("K", bound=Hashable)


class Request(NamedTuple, Generic[K]):
    """Count inside ``ranges`` of service ``service_id``; the answer comes back under ``key``."""

    key: K
    service_id: int
    ranges: Sequence[engine.Interval]


class LatencyRequest(NamedTuple, Generic[K]):
    """Count fast and all successful probes, fast meaning latency <= ``threshold_ms``."""

    key: K
    service_id: int
    ranges: Sequence[engine.Interval]
    threshold_ms: int


def _dt(value: dt.datetime) -> Any:
    # psycopg2 takes datetimes as they are; skipping the adapter matters for thousands
    # of interval bounds per batch.
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)


def _date(value: dt.date) -> Any:
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datefield_value(value)


def _values(rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    width = len(rows[0])
    one = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([one] * len(rows)), [value for row in rows for value in row]


def _sum_over(
    names: str, rows: list[tuple[Any, ...]], table: str, match: str, aggregates: list[str]
) -> list[tuple[Any, ...]]:
    """For each request number ``r.n``, ``aggregates`` over the rows of ``table`` (alias
    ``t``) matching the VALUES rows ``r`` of that request.

    On PostgreSQL each VALUES row drives its own index range scan (LATERAL): with a plain
    join the planner may hash the whole table. SQLite walks the index in a join anyway.
    """
    values, params = _values(rows)
    head = f"WITH r({names}) AS (VALUES {values}) "
    if connection.vendor == "postgresql":
        inner = ", ".join(f"{a} AS c{i}" for i, a in enumerate(aggregates))
        outer = ", ".join(f"SUM(x.c{i})" for i in range(len(aggregates)))
        sql = (
            head + f"SELECT r.n, {outer} FROM r CROSS JOIN LATERAL "  # noqa: S608 (placeholders only)
            f"(SELECT {inner} FROM {table} t WHERE {match}) x GROUP BY r.n"
        )
    else:
        sums = ", ".join(aggregates)
        sql = head + f"SELECT r.n, {sums} FROM r JOIN {table} t ON {match} GROUP BY r.n"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


HOUR = dt.timedelta(hours=1)


def _floor_hour(t: dt.datetime) -> dt.datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil(t: dt.datetime, step: dt.timedelta) -> dt.datetime:
    floor = _floor_hour(t) if step == HOUR else t.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + step


def split_days(
    ranges: Sequence[engine.Interval],
) -> tuple[list[tuple[dt.date, dt.date]], list[engine.Interval]]:
    """Whole UTC days inside the ranges (as [first, last] inclusive), and the remainders."""
    days: list[tuple[dt.date, dt.date]] = []
    edges: list[engine.Interval] = []
    for start, end in ranges:
        first = _ceil(start, DAY)
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


def split_hours(
    ranges: Sequence[engine.Interval],
) -> tuple[list[engine.Interval], list[engine.Interval]]:
    """Runs of whole UTC hours inside the ranges ([first hour, end of last hour)), and the rest."""
    hours: list[engine.Interval] = []
    edges: list[engine.Interval] = []
    for start, end in ranges:
        first = _ceil(start, HOUR)
        last_end = _floor_hour(end)
        if first + HOUR <= last_end:
            hours.append((first, last_end))
            if start < first:
                edges.append((start, first))
            if last_end < end:
                edges.append((last_end, end))
        else:
            edges.append((start, end))
    return hours, edges


def split(
    ranges: Sequence[engine.Interval],
) -> tuple[list[tuple[dt.date, dt.date]], list[engine.Interval], list[engine.Interval]]:
    """Whole days, then whole hours of what is left, then the minute-level remainders."""
    days, rest = split_days(ranges)
    hours, edges = split_hours(rest)
    return days, hours, edges


# Rule 4 over raw minute rows, built from its one home in the engine.
_UP_SQL, _DOWN_SQL = engine.minute_state_sql("t.ok", "t.failed")
UP = f"SUM(CASE WHEN {_UP_SQL} THEN 1 ELSE 0 END)"
DOWN = f"SUM(CASE WHEN {_DOWN_SQL} THEN 1 ELSE 0 END)"


class _Totals(Generic[K]):
    """Two running sums per request key, added up from the rows each query answers."""

    def __init__(self, keys: Sequence[K]) -> None:
        self.keys = keys
        self.sums: dict[K, list[int]] = {key: [0, 0] for key in keys}

    def add(self, found: list[tuple[Any, ...]]) -> None:
        for n, *sums in found:
            target = self.sums[self.keys[n]]
            for i, value in enumerate(sums):
                target[i] += int(value or 0)

    def pairs(self) -> dict[K, tuple[int, int]]:
        return {key: (first, second) for key, (first, second) in self.sums.items()}


def probe_minute_states(requests: Sequence[Request[K]]) -> dict[K, tuple[int, int]]:
    """Up and down minutes (rule 4) inside each request's eligible minute ranges."""
    totals = _Totals([key for key, *_ in requests])
    day_rows: list[tuple[Any, ...]] = []
    hour_rows: list[tuple[Any, ...]] = []
    minute_rows: list[tuple[Any, ...]] = []
    for n, (_, sid, ranges) in enumerate(requests):
        days, hours, edges = split(ranges)
        day_rows.extend((n, sid, _date(a), _date(b)) for a, b in days)
        hour_rows.extend((n, sid, _dt(a), _dt(b)) for a, b in hours)
        minute_rows.extend((n, sid, _dt(a), _dt(b)) for a, b in edges)
    if hour_rows:
        totals.add(
            _sum_over(
                "n, sid, a, b",
                hour_rows,
                "metrics_probehour",
                "t.service_id = r.sid AND t.hour >= r.a AND t.hour < r.b",
                ["SUM(t.up)", "SUM(t.down)"],
            )
        )
    if day_rows:
        totals.add(
            _sum_over(
                "n, sid, a, b",
                day_rows,
                "metrics_probeday",
                "t.service_id = r.sid AND t.day >= r.a AND t.day <= r.b",
                ["SUM(t.up)", "SUM(t.down)"],
            )
        )
    if minute_rows:
        totals.add(
            _sum_over(
                "n, sid, a, b",
                minute_rows,
                "metrics_probeminute",
                "t.service_id = r.sid AND t.minute >= r.a AND t.minute < r.b",
                [UP, DOWN],
            )
        )
    return totals.pairs()


def latency_counts(requests: Sequence[LatencyRequest[K]]) -> dict[K, tuple[int, int]]:
    """(fast, total) successful probes per request, fast meaning latency <= threshold.

    Whole UTC days come from the per-day latency summary of that threshold (the caller
    makes sure the threshold is registered); the rest from the raw rows.
    """
    totals = _Totals([key for key, *_ in requests])
    day_rows: list[tuple[Any, ...]] = []
    hour_rows: list[tuple[Any, ...]] = []
    edge_rows: list[tuple[Any, ...]] = []
    for n, (_, sid, ranges, threshold) in enumerate(requests):
        days, hours, edges = split(ranges)
        day_rows.extend((n, sid, _date(a), _date(b), threshold) for a, b in days)
        hour_rows.extend((n, sid, _dt(a), _dt(b), threshold) for a, b in hours)
        edge_rows.extend((n, sid, _dt(a), _dt(b), threshold) for a, b in edges)
    if hour_rows:
        totals.add(
            _sum_over(
                "n, sid, a, b, th",
                hour_rows,
                "metrics_probelatencyhour",
                "t.service_id = r.sid AND t.threshold_ms = r.th AND t.hour >= r.a AND t.hour < r.b",
                ["SUM(t.fast)", "SUM(t.total)"],
            )
        )
    if day_rows:
        totals.add(
            _sum_over(
                "n, sid, a, b, th",
                day_rows,
                "metrics_probelatencyday",
                "t.service_id = r.sid AND t.threshold_ms = r.th AND t.day >= r.a AND t.day <= r.b",
                ["SUM(t.fast)", "SUM(t.total)"],
            )
        )
    if edge_rows:
        totals.add(
            _sum_over(
                "n, sid, a, b, th",
                edge_rows,
                "metrics_proberesult",
                "t.service_id = r.sid AND t.ts >= r.a AND t.ts < r.b AND t.ok AND t.latency_ms IS NOT NULL",
                ["SUM(CASE WHEN t.latency_ms <= r.th THEN 1 ELSE 0 END)", "COUNT(*)"],
            )
        )
    return totals.pairs()


def event_sums(requests: Sequence[Request[K]]) -> dict[K, tuple[int, int]]:
    """(Σgood, Σtotal) of event counts inside each request's intervals."""
    totals = _Totals([key for key, *_ in requests])
    rows = [
        (n, sid, _dt(a), _dt(b)) for n, (_, sid, ranges) in enumerate(requests) for a, b in ranges
    ]
    if rows:
        totals.add(
            _sum_over(
                "n, sid, a, b",
                rows,
                "metrics_eventcount",
                "t.service_id = r.sid AND t.ts >= r.a AND t.ts < r.b",
                ["SUM(t.good)", "SUM(t.total)"],
            )
        )
    return totals.pairs()
