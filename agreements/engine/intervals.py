"""Interval algebra over sorted, disjoint, half-open UTC intervals."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from .basics import Interval, _utc


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint UTC intervals covering the input; touching intervals are merged."""
    items = sorted((_utc(s), _utc(e)) for s, e in intervals)
    merged: list[Interval] = []
    for start, end in items:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Instants in both ``a`` and ``b``."""
    left, right = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Instants in ``a`` and not in ``b``."""
    holes = union(b)
    out: list[Interval] = []
    j = 0
    for start, end in union(a):
        while j < len(holes) and holes[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(holes) and holes[k][0] < end:
            if holes[k][0] > cursor:
                out.append((cursor, holes[k][0]))
            cursor = max(cursor, holes[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(a: Sequence[Interval], window: Interval) -> list[Interval]:
    """The parts of ``a`` inside ``window``."""
    return intersect(a, [window])


def clip_sorted(a: Sequence[Interval], window: Interval) -> list[Interval]:
    """``clip`` for intervals already sorted, disjoint and in UTC (as every function here
    returns them): one pass, no re-sorting, for the hot paths that clip the same covered
    time to many windows."""
    lo, hi = _utc(window[0]), _utc(window[1])
    out: list[Interval] = []
    if hi <= lo:  # an empty window clips everything away, as ``clip`` does
        return out
    for start, end in a:
        if end <= lo:
            continue
        if start >= hi:
            break
        out.append((max(start, lo), min(end, hi)))
    return out


def duration(intervals: Iterable[Interval]) -> timedelta:
    """Total length of the instants covered by ``intervals`` (overlaps counted once)."""
    return sum((end - start for start, end in union(intervals)), timedelta())


def contains(covered: Sequence[Interval], ts: datetime) -> bool:
    """Whether ``start <= ts < end`` for some interval of sorted, disjoint ``covered``."""
    ts = _utc(ts)
    index = bisect_right(covered, ts, key=lambda interval: interval[0])
    return index > 0 and ts < covered[index - 1][1]
