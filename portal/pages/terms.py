"""An agreement's terms in plain language: objectives, credit tiers, calendars."""

from __future__ import annotations

from typing import Any

from agreements.display import duration, plain
from agreements.engine import Kind
from credits.terms import ObjectiveTerms


def objective_sentence(o: ObjectiveTerms) -> str:
    """What objective ``o`` promises, in one sentence."""
    target = f"{plain(o.target)}%"
    coverage = "at all times" if o.coverage == "always" else f"during {o.coverage}"
    if o.services:
        return _several_services_sentence(o, target, coverage)
    if o.kind == Kind.AVAILABILITY_PROBES:
        return (
            f"{o.service} is available in at least {target} of the covered minutes "
            f"{coverage}, measured by probes (a minute is down when more than half of its "
            "probes fail)."
        )
    if o.kind == Kind.AVAILABILITY_INCIDENTS:
        return (
            f"{o.service} is free of outages for at least {target} of the covered time "
            f"{coverage}, measured from reported outage incidents."
        )
    if o.kind == Kind.LATENCY:
        return (
            f"At least {target} of successful probes of {o.service} answer within "
            f"{o.threshold_ms} ms {coverage}."
        )
    if o.kind == Kind.RATIO:
        return f"At least {target} of the events of {o.service} are delivered {coverage}."
    what = "get a first response" if o.kind == Kind.RESPONSE_TIME else "are resolved"
    which = f"{o.priority} tickets" if o.priority else "Tickets"
    within = duration(o.threshold.total_seconds() if o.threshold else 0)
    return (
        f"{which} {what} within {within} of covered time ({coverage}) "
        f"in at least {target} of cases."
    )


def tier_sentences(o: ObjectiveTerms) -> list[str]:
    """The credit tiers of ``o``, highest threshold first."""
    return [
        f"below {plain(below)}%: {plain(percent)}% of the monthly fee"
        for below, percent in sorted(o.tiers, key=lambda t: -t[0])
    ] + [
        f"above {plain(above)}%: a bonus of {plain(percent)}% of the monthly fee to the provider"
        for above, percent in sorted(o.bonus, key=lambda t: -t[0])
    ]


def _several_services_sentence(o: ObjectiveTerms, target: str, coverage: str) -> str:
    """Rule 18: what an objective over several services promises."""
    names = " and ".join(o.services) if o.combine == "any" else ", ".join(o.services)
    down = (
        "down only when every one of them is down (redundant)"
        if o.combine == "any"
        else "down when any of them is down (in series)"
    )
    measured = (
        "by probes" if o.kind == Kind.AVAILABILITY_PROBES else "from reported outage incidents"
    )
    return (
        f"Together, {names} are available in at least {target} of the covered time "
        f"{coverage}, measured {measured}: {down}."
    )


def calendar_lines(snapshot: dict[str, Any]) -> list[tuple[str, list[str], list[str]]]:
    """(name, weekly ranges, holidays) of every coverage calendar of a terms snapshot."""
    out = []
    for name, body in (snapshot.get("calendars") or {}).items():
        weekly = [f"{day.capitalize()} {', '.join(r)}" for day, r in body["weekly"].items()]
        out.append((name, weekly, list(body.get("holidays") or [])))
    return out
