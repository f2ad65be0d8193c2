"""Objectives over several services (``services``, ``combine``: rule 18) and bonus tiers
(``bonus``: rule 12)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agreements.document.checker import _Checker, _tier_pairs
from agreements.document.fields import _percent_out

COMBINES = ("all", "any")
MAX_COMBINED_SERVICES = 10


def _several_services(
    c: _Checker, obj: dict[str, Any], item: dict[str, Any], path: str, indicator: str | None
) -> None:
    """``services`` (two or more distinct service keys, instead of ``service``) and
    ``combine`` (default ``all``); availability objectives only."""
    if "services" not in obj:
        if "combine" in obj:
            c.error(f"{path}.combine", "only objectives over several services combine them")
        return
    if "service" in obj:
        c.error(f"{path}.services", "give either service or services, not both")
        return
    if indicator != "availability":
        c.error(f"{path}.services", "only availability objectives span several services")
        return
    listed = c.listed(
        obj["services"], f"{path}.services", limit=MAX_COMBINED_SERVICES, what="service keys"
    )
    if listed is None:
        return
    keys: list[str] = []
    for i, raw in enumerate(listed):
        key = c.slug(raw, f"{path}.services[{i}]")
        if key is None:
            continue
        if key in keys:
            c.error(f"{path}.services[{i}]", f"service {key!r} is listed twice")
            continue
        keys.append(key)
    if len(listed) < 2:
        c.error(f"{path}.services", "must list at least two services (or use service)")
    item["services"] = keys
    combine = obj.get("combine", "all")
    if combine not in COMBINES:
        c.error(f"{path}.combine", "must be all (in series) or any (redundant)")
        combine = "all"
    item["combine"] = combine


def _bonus(c: _Checker, value: object, path: str) -> list[dict[str, Any]]:
    """``bonus`` tiers ``{above, percent}``, listed with strictly increasing ``above``."""
    tiers: list[tuple[Decimal, Decimal]] = []
    for tpath, above, percent in _tier_pairs(c, value, path, "above", allow_zero=True):
        if above >= 100:
            c.error(f"{tpath}.above", "must be below 100, or no figure could ever be above it")
        elif tiers and above <= tiers[-1][0]:
            c.error(f"{tpath}.above", "bonus tiers must be listed with strictly increasing above")
        elif tiers and percent < tiers[-1][1]:
            c.error(f"{tpath}.percent", "a higher tier must not give a smaller percent")
        else:
            tiers.append((above, percent))
    return [{"above": _percent_out(a), "percent": _percent_out(p)} for a, p in tiers]
