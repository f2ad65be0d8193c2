"""One error-budget figure per card, in whole units where units cannot be split (rules
11 and 19): the words, the gauge and the staff overview read the same."""

from __future__ import annotations

from decimal import Decimal

from credits.budget import budget_shown
from credits.models import Evaluation
from portal import charts


def _evaluation(*, good: str, bad: str, total: str, unit_kind: str) -> Evaluation:
    indicator, source = unit_kind.split(":") if ":" in unit_kind else (unit_kind, "")
    units = {"availability:probes": "minutes", "response_time": "tickets"}
    e = Evaluation(
        objective_key="o",
        unit=units[unit_kind],
        indicator=indicator,
        good=Decimal(good),
        bad=Decimal(bad),
        budget_total=Decimal(total),
        budget_spent=Decimal(bad),
        budget_remaining=Decimal(total) - Decimal(bad),
        budget_remaining_percent=(Decimal(total) - Decimal(bad)) * 100 / Decimal(total),
        target=Decimal("99.9"),
    )
    if source:
        e.source = source  # type: ignore[attr-defined]
    return e


def test_minutes_are_whole_and_the_percent_is_of_the_whole_budget() -> None:
    e = _evaluation(good="43197", bad="3", total="43.2", unit_kind="availability:probes")
    shown = budget_shown(e)
    assert shown is not None
    assert shown.total == 43 and shown.text == "93.023% left (40 of 43 minutes)"


def test_half_a_ticket_of_budget_reads_as_none_allowed() -> None:
    e = _evaluation(good="3", bad="2", total="0.5", unit_kind="response_time")
    shown = budget_shown(e)
    assert shown is not None and shown.percent is None
    assert shown.text == "the target allows no tickets this period; 2 tickets so far"
    assert "-300" not in shown.text and "0.5" not in shown.text


def test_overspent_says_by_how_much_in_whole_units() -> None:
    e = _evaluation(good="40000", bad="50", total="43.2", unit_kind="availability:probes")
    shown = budget_shown(e)
    assert shown is not None and shown.text == "overspent by 7 minutes"
    assert "overspent" in charts.gauge_svg(shown.percent, label="o: error budget")


def test_the_gauge_never_clips_its_words() -> None:
    svg = charts.gauge_svg(Decimal("-300"), label="o: error budget")
    assert ">overspent<" in svg and "-300" not in svg.split("<title")[0]
