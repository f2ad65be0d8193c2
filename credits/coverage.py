"""Covered time of whole periods and of their settled past, computed once per process.

The calendar arithmetic is the costliest Python of a recompute, and the same agreements
are recomputed every few minutes with the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agreements import engine
from credits import checkpoints

# Keyed by value, so they can never serve another agreement's or database's figures.
_COVERAGE: dict[Any, tuple[engine.Interval, ...]] = {}
_SETTLED: dict[Any, tuple[list[engine.Interval], str]] = {}
_CACHE_LIMIT = 20_000


def period_coverage(
    tz: str,
    calendar: engine.Calendar | None,
    bounds: engine.Interval,
    windows: tuple[engine.Maintenance, ...],
    notice_hours: int,
    exclusions: tuple[engine.Interval, ...] = (),
) -> tuple[tuple[engine.Interval, ...], Any]:
    """Covered time of a whole period (rules 2 and 3), and the key it is cached under."""
    key = (tz, repr(calendar), bounds, windows, notice_hours, exclusions)
    found = _COVERAGE.get(key)
    if found is None:
        if len(_COVERAGE) > _CACHE_LIMIT:
            _COVERAGE.clear()
        found = _COVERAGE[key] = tuple(
            engine.covered_time(
                period=bounds,
                tz=tz,
                calendar=calendar,
                maintenance=windows,
                notice_hours=notice_hours,
                exclusions=exclusions,
            )
        )
    return found, key


def settled_part(
    whole: Sequence[engine.Interval],
    whole_key: Any,
    past: engine.Interval,
    kind: str,
    service_id: int,
    threshold: int | None,
) -> tuple[list[engine.Interval], str]:
    """Covered time inside ``past`` (period start, checkpoint) and its fingerprint."""
    key = (whole_key, past, kind, service_id, threshold)
    found = _SETTLED.get(key)
    if found is None:
        if len(_SETTLED) > _CACHE_LIMIT:
            _SETTLED.clear()
        settled = engine.clip_sorted(whole, past)
        found = _SETTLED[key] = (
            settled,
            checkpoints.fingerprint(
                kind=kind, service_id=service_id, threshold=threshold, covered=settled
            ),
        )
    return found
