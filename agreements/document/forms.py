"""The further objective forms (SPEC §2, rules 15-17): bounded values held under ``max`` or
over ``min``, and volume commitments (``metric_sum``). Their bounds are written in the
indicator's unit: the duration syntax for ``mttr`` and ``mtbf``, milliseconds for
``mean_latency`` and ``jitter``, the metric's own unit for ``metric_mean`` and ``metric_sum``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agreements.document.checker import _Checker
from agreements.document.fields import _percent_out, format_duration, parse_duration
from agreements.document.vocabulary import MAX_TIERS

BOUNDED_INDICATORS = ("mttr", "mtbf", "mean_latency", "jitter", "metric_mean")
FORM_INDICATORS = frozenset((*BOUNDED_INDICATORS, "metric_sum"))
# Which bound each indicator takes (rule 15): a time to restore is held under a maximum,
# a time between failures over a minimum, a volume over its commitment.
_BOUNDS = {
    "mttr": ("max",),
    "mtbf": ("min",),
    "mean_latency": ("max",),
    "jitter": ("max",),
    "metric_mean": ("max", "min"),
    "metric_sum": ("min",),
}
DURATION_INDICATORS = frozenset(("mttr", "mtbf"))
MS_INDICATORS = frozenset(("mean_latency", "jitter"))
METRIC_INDICATORS = frozenset(("metric_mean", "metric_sum"))
FORM_KEYS = ("max", "min", "metric", "carry_over")
MAX_MS = Decimal(3_600_000)
MAX_METRIC = Decimal(10) ** 12


def check_form(
    c: _Checker, obj: dict[str, Any], path: str, indicator: str | None
) -> dict[str, Any]:
    """The fields of a further form, canonical, for ``objectives[i]`` at ``path``; the
    fields that belong only to these forms are refused on any other indicator."""
    out: dict[str, Any] = {}
    if indicator not in FORM_INDICATORS:
        for key in FORM_KEYS:
            if key in obj:
                c.error(f"{path}.{key}", f"not used by {indicator or 'this'} objectives")
        return out
    if "target" in obj:
        bounds = " or ".join(_BOUNDS[indicator])
        c.error(f"{path}.target", f"not used by {indicator} objectives; give {bounds}")
    given = [b for b in ("max", "min") if b in obj]
    if not given:
        c.error(f"{path}.{_BOUNDS[indicator][0]}", f"is required for {indicator} objectives")
    elif len(given) == 2:
        c.error(f"{path}.min", "give max or min, not both")
    else:
        bound = given[0]
        if bound not in _BOUNDS[indicator]:
            other = _BOUNDS[indicator][0]
            c.error(f"{path}.{bound}", f"{indicator} is bounded by {other}, not {bound}")
        else:
            value = _bound_value(c, obj[bound], f"{path}.{bound}", indicator)
            if value is not None:
                out[bound] = value
    if indicator in METRIC_INDICATORS:
        if "metric" not in obj:
            c.error(f"{path}.metric", f"is required for {indicator} objectives")
        else:
            out["metric"] = c.slug(obj["metric"], f"{path}.metric")
    elif "metric" in obj:
        c.error(f"{path}.metric", "only metric_mean and metric_sum objectives name a metric")
    if "carry_over" in obj:
        if indicator != "metric_sum":
            c.error(f"{path}.carry_over", "only metric_sum objectives carry a shortfall over")
        elif not isinstance(obj["carry_over"], bool):
            c.error(f"{path}.carry_over", "must be true or false")
        else:
            out["carry_over"] = obj["carry_over"]
    if indicator in BOUNDED_INDICATORS and len(given) == 1:
        tiers = _bounded_tiers(c, obj.get("credits"), f"{path}.credits", indicator, given[0])
        out["credits"] = tiers
    return out


def _bound_value(c: _Checker, value: object, path: str, indicator: str) -> Any:
    if indicator in DURATION_INDICATORS:
        seconds = c.duration(value, path)
        if seconds is not None and seconds <= 0:
            c.error(path, "must be longer than zero")
            return None
        return None if seconds is None else format_duration(seconds)
    number = c.number(value, path)
    if number is None:
        return None
    limit = MAX_MS if indicator in MS_INDICATORS else MAX_METRIC
    unit = " ms" if indicator in MS_INDICATORS else ""
    if indicator == "metric_sum" and number <= 0:
        c.error(path, "must be greater than 0")
    elif not -limit <= number <= limit or (indicator in MS_INDICATORS and number < 0):
        low = 0 if indicator in MS_INDICATORS else -limit
        c.error(path, f"must be between {low} and {limit}{unit}")
    elif number.as_tuple().exponent < -6:  # type: ignore[operator]
        c.error(path, "must have at most 6 decimal places")
    else:
        return _percent_out(number)
    return None


def _bounded_tiers(
    c: _Checker, value: object, path: str, indicator: str, bound: str
) -> list[dict[str, Any]]:
    """Tiers of a bounded value (rule 12): ``above`` for a max-bounded indicator, listed
    with strictly increasing ``above``; ``below`` for a min-bounded one, strictly
    decreasing; bounds in the indicator's unit, a worse tier never giving less."""
    if value is None:
        return []
    word = "above" if bound == "max" else "below"
    tiers_in = c.listed(value, path, limit=MAX_TIERS, what=f"{{{word}, percent}} tiers")
    if tiers_in is None:
        return []
    out: list[dict[str, Any]] = []
    last: tuple[Decimal, Decimal] | None = None
    for i, raw in enumerate(tiers_in):
        tpath = f"{path}[{i}]"
        tier = c.mapping(raw, tpath)
        if tier is None:
            continue
        other = "below" if word == "above" else "above"
        if other in tier:
            c.error(f"{tpath}.{other}", f"the tiers of a {bound}-bounded value use {word}")
        c.unknown({k: v for k, v in tier.items() if k != other}, {word, "percent"}, tpath)
        for field in (word, "percent"):
            if field not in tier:
                c.error(f"{tpath}.{field}", "is required")
        edge = _bound_value(c, tier[word], f"{tpath}.{word}", indicator) if word in tier else None
        percent = c.percent(tier["percent"], f"{tpath}.percent") if "percent" in tier else None
        if edge is None or percent is None:
            continue
        amount = bound_number(indicator, edge)
        if last is not None:
            worse = amount > last[0] if word == "above" else amount < last[0]
            if not worse:
                order = "increasing" if word == "above" else "decreasing"
                c.error(f"{tpath}.{word}", f"tiers must be listed with strictly {order} {word}")
            elif percent < last[1]:
                c.error(f"{tpath}.percent", "a worse tier must not give a smaller percent")
        last = (amount, percent)
        out.append({word: edge, "percent": _percent_out(percent)})
    return out


def bound_number(indicator: str, written: object) -> Decimal:
    """A bound as written in a canonical document, as a number in the value's unit:
    seconds for ``mttr``/``mtbf`` durations, else the number itself."""
    if indicator in DURATION_INDICATORS:
        return Decimal(parse_duration(written))
    return Decimal(str(written))


def implied_target(indicator: str) -> Decimal:
    """The target a further form's row carries: a commitment is met at 100% delivered
    (rule 17); a bounded value is judged by its bound, and its row's target (100) is never
    shown or used."""
    del indicator
    return Decimal(100)


def form_fields(item: dict[str, Any]) -> dict[str, Any]:
    """What a canonical objective holds of its further form, stored beside its row: its
    bound, metric, carry_over and (for a bounded value) its tiers."""
    out = {key: item[key] for key in FORM_KEYS if key in item}
    if item.get("indicator") in BOUNDED_INDICATORS:
        out["credits"] = item["credits"]
    return out
