"""Exclusions as the evaluation, the evidence and the pages read them (SPEC §3 rule 3).

One query per read, whatever the number of services or periods; the arithmetic that
removes them from covered time is ``engine.covered_time``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from agreements import engine
from metrics.models import Exclusion

__all__ = ["exclusion_reason", "exclusions_by_service", "exclusions_of"]


def exclusions_by_service(
    service_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[engine.Interval]]:
    """{service id: [(start, end), ...]} of the exclusions overlapping ``[start, end)``,
    UTC intervals in start order. One query; none when there is no service."""
    ids = list(service_ids)
    found: dict[int, list[engine.Interval]] = {}
    if not ids:
        return found
    for sid, a, b in (
        Exclusion.objects.filter(service_id__in=ids, start__lt=end, end__gt=start)
        .order_by("start", "end")
        .values_list("service_id", "start", "end")
    ):
        found.setdefault(sid, []).append((a, b))
    return found


def exclusions_of(
    service_keys: Iterable[str], start: dt.datetime, end: dt.datetime
) -> list[Exclusion]:
    """The exclusion rows of the services ``service_keys`` overlapping ``[start, end)``,
    with their service, in start order (one query)."""
    keys = list(service_keys)
    if not keys:
        return []
    return list(
        Exclusion.objects.filter(service__key__in=keys, start__lt=end, end__gt=start)
        .select_related("service")
        .order_by("start", "end")
    )


def exclusion_reason(x: Exclusion) -> str:
    """Why exclusion ``x`` is removed from covered time, in words: its reason and note."""
    return f"excluded: {x.get_reason_display()}; {x.note}"
