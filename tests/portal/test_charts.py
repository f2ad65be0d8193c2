"""Tests for the server-rendered SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from credits.daily import DayVerdict
from portal.charts import DAY_COLOURS, DayBar, burndown_svg, daily_bars_svg, gauge_svg

SVG = "{http://www.w3.org/2000/svg}"
ZONE = ZoneInfo("Europe/Zurich")
START = datetime(2026, 11, 1, tzinfo=ZONE)
END = datetime(2026, 12, 1, tzinfo=ZONE)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def bars_of(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "bar" in g.get("class", "").split()]


def ninety_days() -> list[DayBar]:
    verdicts = list(DayVerdict)
    first = date(2026, 6, 6)
    bars = []
    for i in range(90):
        verdict = verdicts[i % 4]
        achieved = None if verdict == DayVerdict.NO_DATA else Decimal("99.95") - Decimal(i) / 100
        label = "no data" if achieved is None else f"{achieved}% available"
        incidents = ("API down", "Slow logins") if i == 2 else ()
        bars.append(DayBar(first + timedelta(days=i), achieved, verdict, label, incidents))
    return bars


# ---------------------------------------------------------------------------
# daily_bars_svg
# ---------------------------------------------------------------------------


def test_bars_are_well_formed_responsive_and_labelled() -> None:
    root = parse(daily_bars_svg(ninety_days(), title="API availability, last 90 days"))
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("preserveAspectRatio")
    assert root.get("role") == "group"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "API availability, last 90 days"
    assert root.get("aria-labelledby") == title.get("id")


def test_one_focusable_labelled_bar_per_day() -> None:
    bars = ninety_days()
    nodes = bars_of(parse(daily_bars_svg(bars, title="t")))
    assert len(nodes) == 90
    widths = {node.find(f"{SVG}rect").get("width") for node in nodes}  # type: ignore[union-attr]
    # no_data bars are inset by half a stroke; all others share one width.
    assert widths <= {"8", "7"}
    for bar, node in zip(bars, nodes, strict=True):
        assert node.get("tabindex") == "0"
        assert node.get("role") == "img"
        label = node.get("aria-label")
        assert label is not None
        assert label.startswith(bar.day.isoformat() + ": ")
        assert bar.label in label
        assert node.get("data-tooltip") == label
        title = node.find(f"{SVG}title")
        assert title is not None
        assert title.text == label


def test_label_contains_figures_status_and_incidents() -> None:
    bar = DayBar(
        date(2026, 9, 3), Decimal("99.95"), DayVerdict.WITHIN, "99.950% available", ("API down",)
    )
    (node,) = bars_of(parse(daily_bars_svg([bar], title="t")))
    assert (
        node.get("aria-label")
        == "2026-09-03: 99.950% available, within target; incidents: API down"
    )
    title = node.find(f"{SVG}title")
    assert title is not None
    assert "API down" in (title.text or "")


def test_several_incidents_all_listed() -> None:
    nodes = bars_of(parse(daily_bars_svg(ninety_days(), title="t")))
    label = nodes[2].get("aria-label", "")
    assert "far below target" in label
    assert "API down" in label
    assert "Slow logins" in label


def test_verdict_classes_and_colours() -> None:
    nodes = bars_of(parse(daily_bars_svg(ninety_days(), title="t")))
    for node, verdict in zip(nodes[:4], DayVerdict, strict=True):
        assert node.get("class") == f"bar bar-{verdict}"
        assert node.get("data-verdict") == verdict
    svg = daily_bars_svg(ninety_days(), title="t")
    for colour in DAY_COLOURS.values():
        assert colour in svg


def test_far_below_and_no_data_have_non_colour_markers() -> None:
    nodes = bars_of(parse(daily_bars_svg(ninety_days(), title="t")))
    within, below, far_below, no_data = nodes[:4]
    # Far below target: hatch pattern plus an "!" glyph.
    glyphs = [t.text for t in far_below.iter(f"{SVG}text")]
    assert glyphs == ["!"]
    assert "url(#p-far_below_target-" in (far_below.find(f"{SVG}rect").get("fill") or "")  # type: ignore[union-attr]
    # No data: hollow, dashed outline with stripes.
    rect = no_data.find(f"{SVG}rect")
    assert rect is not None
    assert rect.get("stroke-dasharray")
    assert "url(#p-no_data-" in (rect.get("fill") or "")
    # Below target is striped too; within target is the only plain solid fill.
    assert "url(#p-below_target-" in (below.find(f"{SVG}rect").get("fill") or "")  # type: ignore[union-attr]
    assert within.find(f"{SVG}rect").get("fill") == DAY_COLOURS[DayVerdict.WITHIN]  # type: ignore[union-attr]


def test_patterns_referenced_are_defined() -> None:
    root = parse(daily_bars_svg(ninety_days(), title="t"))
    ids = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    for rect in root.iter(f"{SVG}rect"):
        fill = rect.get("fill", "")
        if fill.startswith("url(#"):
            assert fill[5:-1] in ids


def test_text_is_escaped() -> None:
    evil = "<script>alert('x')</script>"
    bar = DayBar(date(2026, 9, 3), None, DayVerdict.NO_DATA, f"{evil} & co", (evil,))
    svg = daily_bars_svg([bar], title=evil)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == evil  # type: ignore[union-attr]
    (node,) = bars_of(root)
    assert evil in node.get("aria-label", "")
    assert "& co" in node.get("aria-label", "")


def test_empty_bars_render_a_message() -> None:
    svg = daily_bars_svg([], title="Nothing yet")
    root = parse(svg)
    assert bars_of(root) == []
    assert "No data for this period" in svg


def test_missing_label_falls_back_to_figure() -> None:
    bar = DayBar(date(2026, 9, 3), Decimal("99.5"), DayVerdict.BELOW, "")
    (node,) = bars_of(parse(daily_bars_svg([bar], title="t")))
    assert node.get("aria-label") == "2026-09-03: 99.500%, below target"


def test_unknown_verdict_rejected() -> None:
    with pytest.raises(ValueError, match="unknown verdict"):
        daily_bars_svg([DayBar(date(2026, 9, 3), None, "green", "x")], title="t")  # type: ignore[arg-type]


def test_bars_output_is_deterministic_and_ids_unique_per_chart() -> None:
    bars = ninety_days()
    assert daily_bars_svg(bars, title="a") == daily_bars_svg(bars, title="a")
    first = parse(daily_bars_svg(bars, title="a")).get("id")
    second = parse(daily_bars_svg(bars, title="b")).get("id")
    assert first != second


# ---------------------------------------------------------------------------
# burndown_svg
# ---------------------------------------------------------------------------


def daily_points(values: list[Decimal | None]) -> list[tuple[datetime, Decimal | None]]:
    return [(START + timedelta(days=i), value) for i, value in enumerate(values)]


def polylines(root: ET.Element) -> list[list[tuple[float, float]]]:
    result = []
    for line in root.iter(f"{SVG}polyline"):
        pairs = [p.split(",") for p in line.get("points", "").split()]
        result.append([(float(x), float(y)) for x, y in pairs])
    return result


def sustainable(root: ET.Element) -> ET.Element:
    (line,) = [el for el in root.iter(f"{SVG}line") if el.get("class") == "sustainable"]
    return line


def y_of_grid(root: ET.Element, level: int) -> float:
    (line,) = [el for el in root.iter(f"{SVG}line") if el.get("class") == f"grid grid-{level}"]
    return float(line.get("y1", "nan"))


def test_burndown_accessible_summary_and_axes() -> None:
    values: list[Decimal | None] = [Decimal(100) - Decimal("1.84") * i for i in range(21)]
    svg = burndown_svg(daily_points(values), start=START, end=END, title="Error budget")
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert desc is not None
    assert title.text == "Error budget"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert (desc.text or "").startswith("Error budget remaining: 63.200% on 21 Nov")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("100%", "50%", "0%", "01 Nov", "01 Dec", "sustainable burn"):
        assert label in texts


def test_burndown_sustainable_line_spans_period() -> None:
    root = parse(burndown_svg(daily_points([Decimal(90)] * 3), start=START, end=END, title="t"))
    line = sustainable(root)
    assert line.get("stroke-dasharray")
    assert float(line.get("y1", "nan")) == y_of_grid(root, 100)
    assert float(line.get("y2", "nan")) == y_of_grid(root, 0)
    ticks = [el for el in root.iter(f"{SVG}text") if el.get("class") == "x-label"]
    assert float(line.get("x1", "nan")) == float(ticks[0].get("x", "nan"))
    assert float(line.get("x2", "nan")) == float(ticks[-1].get("x", "nan"))
    assert ticks[0].text == "01 Nov"
    assert ticks[-1].text == "01 Dec"
    # The actual line starts at the start of the period, at 90%.
    (actual,) = polylines(root)
    assert actual[0][0] == float(line.get("x1", "nan"))


def test_burndown_none_points_break_the_line() -> None:
    values: list[Decimal | None] = [Decimal(100), Decimal(95), None, Decimal(80), Decimal(75)]
    root = parse(burndown_svg(daily_points(values), start=START, end=END, title="t"))
    lines = polylines(root)
    assert [len(line) for line in lines] == [2, 2]
    assert "75.000% on 05 Nov" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def test_burndown_trailing_none_reports_last_known_value() -> None:
    values: list[Decimal | None] = [Decimal(100), Decimal("97.25"), None, None]
    svg = burndown_svg(daily_points(values), start=START, end=END, title="t")
    assert "Error budget remaining: 97.250% on 02 Nov" in svg


def test_burndown_empty() -> None:
    root = parse(burndown_svg([], start=START, end=END, title="t"))
    assert polylines(root) == []
    assert "no data yet" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    sustainable(root)  # still drawn so the reader sees the expected pace


def test_burndown_all_none() -> None:
    root = parse(burndown_svg(daily_points([None, None]), start=START, end=END, title="t"))
    assert polylines(root) == []
    assert list(root.iter(f"{SVG}circle")) == []


def test_burndown_single_point_drawn_as_marker() -> None:
    root = parse(burndown_svg(daily_points([Decimal(100)]), start=START, end=END, title="t"))
    assert polylines(root) == []
    classes = [c.get("class") for c in root.iter(f"{SVG}circle")]
    assert "remaining-point" in classes
    assert "latest" in classes


def test_burndown_negative_values_below_zero_and_clipped() -> None:
    values: list[Decimal | None] = [Decimal(20), Decimal(-40), Decimal(-500)]
    root = parse(burndown_svg(daily_points(values), start=START, end=END, title="t"))
    (line,) = polylines(root)
    zero = y_of_grid(root, 0)
    top = y_of_grid(root, 100)
    floor = zero + (zero - top)
    assert line[0][1] < zero
    assert zero < line[1][1] < floor
    assert line[2][1] == floor  # -500 clipped at -100
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "-500.000%" in desc
    assert "overspent" in desc


def test_burndown_unsorted_points_and_points_outside_period() -> None:
    points: list[tuple[datetime, Decimal | None]] = [
        (START + timedelta(days=3), Decimal(70)),
        (START - timedelta(days=2), Decimal(100)),
        (END + timedelta(days=2), Decimal(10)),
    ]
    root = parse(burndown_svg(points, start=START, end=END, title="t"))
    (line,) = polylines(root)
    xs = [x for x, _ in line]
    assert xs == sorted(xs)
    line_el = sustainable(root)
    assert xs[0] == float(line_el.get("x1", "nan"))
    assert xs[-1] == float(line_el.get("x2", "nan"))


def test_burndown_escapes_title_and_rejects_empty_period() -> None:
    svg = burndown_svg([], start=START, end=END, title="<script>x</script>")
    assert "<script>" not in svg
    parse(svg)
    with pytest.raises(ValueError):
        burndown_svg([], start=END, end=START, title="t")


def test_burndown_deterministic() -> None:
    points = daily_points([Decimal(100), Decimal("99.5")])
    first = burndown_svg(points, start=START, end=END, title="t")
    assert first == burndown_svg(list(points), start=START, end=END, title="t")


# ---------------------------------------------------------------------------
# gauge_svg
# ---------------------------------------------------------------------------


def fill_width(root: ET.Element) -> float:
    fills = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "fill"]
    return float(fills[0].get("width", "nan")) if fills else 0.0


def track_width(root: ET.Element) -> float:
    (track,) = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "track"]
    return float(track.get("width", "nan"))


def value_text(root: ET.Element) -> str:
    (text,) = [t for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    return text.text or ""


@pytest.mark.parametrize(
    ("value", "now", "text", "fraction"),
    [
        (Decimal(0), "0", "0.000% left", 0.0),
        (Decimal(50), "50", "50.000% left", 0.5),
        (Decimal(100), "100", "100.000% left", 1.0),
        (Decimal("63.2599"), "63.2599", "63.259% left", 0.632599),  # never rounded up
        (Decimal(-20), "0", "overspent", 0.0),
    ],
)
def test_gauge_values(value: Decimal, now: str, text: str, fraction: float) -> None:
    root = parse(gauge_svg(value, label="Error budget"))
    assert root.get("role") == "meter"
    assert root.get("aria-label") == "Error budget"
    assert root.get("aria-valuemin") == "0"
    assert root.get("aria-valuemax") == "100"
    assert root.get("aria-valuenow") == now
    assert root.get("aria-valuetext") == text
    assert value_text(root) == text
    assert fill_width(root) == pytest.approx(track_width(root) * fraction, abs=0.01)
    assert root.get("width") == "100%"


def test_gauge_none() -> None:
    root = parse(gauge_svg(None, label="Error budget"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Error budget: no data"
    assert root.get("aria-valuenow") is None
    assert value_text(root) == "no data"
    assert fill_width(root) == 0.0


def test_gauge_escapes_label() -> None:
    svg = gauge_svg(Decimal(10), label='<script>"x"</script>')
    assert "<script>" not in svg
    assert parse(svg).get("aria-label") == '<script>"x"</script>'
