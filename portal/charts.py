"""Server-rendered SVG charts for the portal: daily status bars, budget burn-down, gauge.

Every function returns a self-contained SVG string meant to be inlined in HTML. The
charts are readable without JavaScript (native ``<title>`` tooltips), carry text
alternatives for assistive technology, never encode status by colour alone and
render identically for identical input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape

from agreements import display
from agreements.engine import Status
from credits.daily import DayVerdict

__all__ = [
    "DAY_COLOURS",
    "STATUS_COLOURS",
    "DayBar",
    "burndown_svg",
    "daily_bars_svg",
    "gauge_svg",
]

# All reach at least 4.5:1 against white (WCAG AA for text, so also for graphics).
STATUS_COLOURS: dict[Status, str] = {
    Status.MET: "#1a7f37",
    Status.AT_RISK: "#8a5a00",
    Status.BREACHED: "#b42318",
    Status.NO_DATA: "#57606a",
}
# A day is not a period: its verdicts have words of their own, drawn in the same palette.
DAY_COLOURS: dict[DayVerdict, str] = {
    DayVerdict.WITHIN: STATUS_COLOURS[Status.MET],
    DayVerdict.BELOW: STATUS_COLOURS[Status.AT_RISK],
    DayVerdict.FAR_BELOW: STATUS_COLOURS[Status.BREACHED],
    DayVerdict.NO_DATA: STATUS_COLOURS[Status.NO_DATA],
}
_TEXT = "#1f2328"
_MUTED = "#57606a"
_GRID = "#d0d7de"
_LINE = "#0550ae"
_FOCUS = "#0969da"
_FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


@dataclass(frozen=True)
class DayBar:
    """One day of an objective's history as shown in the status bar strip."""

    day: date
    achieved: Decimal | None  # percent, None = no data
    verdict: DayVerdict
    label: str  # e.g. "99.950% available" (already formatted by caller)
    incidents: tuple[str, ...] = ()  # titles of that day's incidents


def _e(text: object) -> str:
    """Escape text for use in SVG element content or a double-quoted attribute."""
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """Format a coordinate compactly and deterministically."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _uid(*parts: object) -> str:
    """Stable id suffix so several charts inlined on one page never share ids."""
    digest = hashlib.sha1(repr(parts).encode("utf-8"), usedforsecurity=False)
    return digest.hexdigest()[:10]


def _svg_open(view_w: float, view_h: float, attrs: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(view_w)} {_n(view_h)}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" {attrs} '
        f'font-family="{_e(_FONT)}">'
    )


# ---------------------------------------------------------------------------
# Daily status bars
# ---------------------------------------------------------------------------

_BAR_W = 8
_BAR_GAP = 2
_BAR_H = 40
_BAR_TOP = 4


def _bar_text(bar: DayBar) -> str:
    label = bar.label.strip()
    if not label:
        label = display.percent(bar.achieved)
    text = f"{bar.day.isoformat()}: {label}, {bar.verdict.words}"
    if bar.incidents:
        text += "; incidents: " + ", ".join(bar.incidents)
    return text


def _bar_shapes(
    verdict: DayVerdict, x: float, uid: str, *, y: float = _BAR_TOP, h: float = _BAR_H
) -> str:
    """Shapes of one bar; each verdict has its own fill pattern, not just its own colour."""
    colour = DAY_COLOURS[verdict]
    box = f'x="{_n(x)}" y="{_n(y)}" width="{_BAR_W}" height="{_n(h)}" rx="1.5"'
    if verdict == DayVerdict.WITHIN:
        return f'<rect {box} fill="{colour}"/>'
    if verdict == DayVerdict.BELOW:
        return f'<rect {box} fill="url(#p-{verdict}-{uid})" stroke="{colour}" stroke-width="1"/>'
    if verdict == DayVerdict.FAR_BELOW:
        shapes = f'<rect {box} fill="url(#p-{verdict}-{uid})" stroke="{colour}" stroke-width="1"/>'
        if h >= 20:
            # The "!" glyph survives greyscale printing and colour-blindness alike.
            shapes += (
                f'<text x="{_n(x + _BAR_W / 2)}" y="{_n(y + h / 2 + 4)}" text-anchor="middle" '
                f'font-size="11" font-weight="700" fill="#ffffff" class="marker" '
                f'aria-hidden="true">!</text>'
            )
        return shapes
    # No data: hollow bar with a dashed outline and sparse stripes.
    return (
        f'<rect x="{_n(x + 0.5)}" y="{_n(y + 0.5)}" width="{_BAR_W - 1}" '
        f'height="{_n(h - 1)}" rx="1.5" fill="url(#p-{verdict}-{uid})" stroke="{colour}" '
        f'stroke-width="1" stroke-dasharray="2 1.5" class="marker"/>'
    )


def _bar_patterns(uid: str) -> str:
    far, below, none = DayVerdict.FAR_BELOW, DayVerdict.BELOW, DayVerdict.NO_DATA
    return (
        "<defs>"
        f'<pattern id="p-{far}-{uid}" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)">'
        f'<rect width="4" height="4" fill="{DAY_COLOURS[far]}"/>'
        f'<rect width="1.5" height="4" fill="#ffffff" fill-opacity="0.55"/></pattern>'
        f'<pattern id="p-{below}-{uid}" width="4" height="4" patternUnits="userSpaceOnUse">'
        f'<rect width="4" height="4" fill="{DAY_COLOURS[below]}"/>'
        f'<rect width="4" height="1.2" fill="#ffffff" fill-opacity="0.6"/></pattern>'
        f'<pattern id="p-{none}-{uid}" width="4" height="4" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(-45)">'
        f'<rect width="4" height="4" fill="#ffffff"/>'
        f'<rect width="1" height="4" fill="{DAY_COLOURS[none]}" fill-opacity="0.45"/></pattern>'
        "</defs>"
    )


def daily_bars_svg(bars: Sequence[DayBar], *, title: str) -> str:
    """Status-page strip: one equal-width bar per day, each focusable with its own label.

    The outer SVG is a labelled ``group`` rather than an ``img`` because an ``img``
    would hide the individually focusable bars from assistive technology.
    Raises ``ValueError`` for an unknown verdict, which is a caller bug.
    """
    for bar in bars:
        if bar.verdict not in DAY_COLOURS:
            raise ValueError(f"unknown verdict {bar.verdict!r} for {bar.day.isoformat()}")
    uid = _uid("bars", title, tuple(bars))
    count = len(bars)
    width = max(count * (_BAR_W + _BAR_GAP) - _BAR_GAP, 300)
    legend_y = _BAR_TOP + _BAR_H + 30
    height = legend_y + 8
    parts = [
        _svg_open(
            width,
            height,
            f'role="group" aria-labelledby="t-{uid}" class="chart chart-bars" id="c-{uid}"',
        ),
        f'<title id="t-{uid}">{_e(title)}</title>',
        # Keyboard focus must be visible; scoped to this chart's id.
        f"<style>#c-{uid} .bar:focus{{outline:none}}"
        f"#c-{uid} .bar:focus .focus-ring,#c-{uid} .bar:hover .focus-ring"
        f"{{stroke:{_FOCUS};stroke-width:2}}</style>",
        _bar_patterns(uid),
    ]
    if not bars:
        parts.append(
            f'<text x="{_n(width / 2)}" y="{_n(_BAR_TOP + _BAR_H / 2 + 4)}" '
            f'text-anchor="middle" font-size="12" fill="{_MUTED}">No data for this period</text>'
        )
    for index, bar in enumerate(bars):
        x = index * (_BAR_W + _BAR_GAP)
        text = _e(_bar_text(bar))
        parts.append(
            f'<g tabindex="0" role="img" class="bar bar-{bar.verdict}" '
            f'data-day="{bar.day.isoformat()}" data-verdict="{bar.verdict}" '
            f'aria-label="{text}" data-tooltip="{text}">'
            f"<title>{text}</title>"
            f"{_bar_shapes(bar.verdict, x, uid)}"
            f'<rect x="{_n(x - 1)}" y="{_n(_BAR_TOP - 1)}" width="{_BAR_W + 2}" '
            f'height="{_BAR_H + 2}" fill="none" stroke="none" class="focus-ring"/>'
            "</g>"
        )
    if bars:
        axis_y = _BAR_TOP + _BAR_H + 13
        span = count * (_BAR_W + _BAR_GAP) - _BAR_GAP
        labels = f'<text x="0" y="{axis_y}">{_e(bars[0].day.isoformat())}</text>'
        # Two ISO dates need about 140 units; on short strips they would overlap.
        if span >= 140:
            labels += (
                f'<text x="{_n(span)}" y="{axis_y}" text-anchor="end">'
                f"{_e(bars[-1].day.isoformat())}</text>"
            )
        parts.append(f'<g aria-hidden="true" font-size="10" fill="{_MUTED}">{labels}</g>')
    parts.append(_bars_legend(uid, legend_y))
    parts.append("</svg>")
    return "".join(parts)


def _bars_legend(uid: str, y: float) -> str:
    """Legend repeating the marker of each verdict next to its words."""
    items = []
    x = 0.0
    for verdict in DayVerdict:
        word = verdict.words
        items.append(_bar_shapes(verdict, x, uid, y=y - 10, h=12))
        items.append(
            f'<text x="{_n(x + _BAR_W + 4)}" y="{_n(y)}" font-size="10" fill="{_TEXT}">'
            f"{_e(word)}</text>"
        )
        # Rough advance per character at font-size 10 keeps entries apart.
        x += _BAR_W + 16 + 6 * len(word)
    return f'<g class="legend" aria-hidden="true">{"".join(items)}</g>'


# ---------------------------------------------------------------------------
# Error-budget burn-down
# ---------------------------------------------------------------------------

_BD_W = 600
_BD_H = 270
_BD_LEFT = 48
_BD_RIGHT = 588
_BD_TOP = 12
_BD_BOTTOM = 212
_BD_MAX = Decimal(100)
_BD_FLOOR = Decimal(-100)


def _bd_y(value: Decimal) -> float:
    clipped = min(max(value, _BD_FLOOR), _BD_MAX)
    span = float(_BD_MAX - _BD_FLOOR)
    return _BD_TOP + float(_BD_MAX - clipped) / span * (_BD_BOTTOM - _BD_TOP)


def _bd_x(moment: datetime, start: datetime, end: datetime) -> float:
    total = (end - start).total_seconds()
    offset = (min(max(moment, start), end) - start).total_seconds()
    return _BD_LEFT + offset / total * (_BD_RIGHT - _BD_LEFT)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_label(moment: datetime) -> str:
    """``%d %b`` built by hand so the output does not depend on the process locale."""
    return f"{moment.day:02d} {_MONTHS[moment.month - 1]}"


def burndown_svg(
    points: Sequence[tuple[datetime, Decimal | None]],
    *,
    start: datetime,
    end: datetime,
    title: str,
) -> str:
    """Remaining error budget (percent) over a period against the sustainable burn line.

    ``None`` values are gaps: the line is broken there rather than interpolated.
    Values are clipped to the 100..-100 band; points outside start..end are clamped.
    """
    if end <= start:
        raise ValueError("end must be after start")
    uid = _uid("burndown", title, start, end, tuple(points))
    ordered = sorted(points, key=lambda point: point[0])
    known = [(moment, value) for moment, value in ordered if value is not None]

    if known:
        moment, value = known[-1]
        summary = f"Error budget remaining: {display.percent(value)} on {_day_label(moment)}"
        if value < 0:
            summary += " (overspent)"
    else:
        summary = "Error budget remaining: no data yet"
    desc = (
        f"{summary}. The dashed sustainable burn line falls from 100% on "
        f"{_day_label(start)} to 0% on {_day_label(end)}; remaining budget above it "
        "means the budget is being spent slower than sustainable."
    )

    parts = [
        _svg_open(
            _BD_W,
            _BD_H,
            f'role="img" aria-labelledby="t-{uid} d-{uid}" class="chart chart-burndown"',
        ),
        f'<title id="t-{uid}">{_e(title)}</title>',
        f'<desc id="d-{uid}">{_e(desc)}</desc>',
    ]
    # Overspent zone below zero, tinted and labelled in words.
    y0 = _bd_y(Decimal(0))
    parts.append(
        f'<rect class="overspent-zone" x="{_BD_LEFT}" y="{_n(y0)}" '
        f'width="{_BD_RIGHT - _BD_LEFT}" height="{_n(_BD_BOTTOM - y0)}" fill="#fff1f0"/>'
        f'<text x="{_BD_RIGHT - 4}" y="{_n(_BD_BOTTOM - 6)}" text-anchor="end" font-size="10" '
        f'fill="{STATUS_COLOURS[Status.BREACHED]}">overspent</text>'
    )
    # Horizontal grid with 100/50/0 labels; the zero line is drawn solid and darker.
    for level in (100, 50, 0):
        y = _bd_y(Decimal(level))
        stroke = _TEXT if level == 0 else _GRID
        parts.append(
            f'<line class="grid grid-{level}" x1="{_BD_LEFT}" y1="{_n(y)}" x2="{_BD_RIGHT}" '
            f'y2="{_n(y)}" stroke="{stroke}" stroke-width="1"/>'
            f'<text class="y-label" x="{_BD_LEFT - 6}" y="{_n(y + 4)}" text-anchor="end" '
            f'font-size="11" fill="{_TEXT}">{level}%</text>'
        )
    # A few date ticks along x.
    ticks = 4
    for i in range(ticks + 1):
        moment = start + (end - start) * i / ticks
        x = _bd_x(moment, start, end)
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(
            f'<line x1="{_n(x)}" y1="{_BD_BOTTOM}" x2="{_n(x)}" y2="{_BD_BOTTOM + 4}" '
            f'stroke="{_MUTED}"/>'
            f'<text class="x-label" x="{_n(x)}" y="{_BD_BOTTOM + 16}" text-anchor="{anchor}" '
            f'font-size="11" fill="{_TEXT}">{_e(_day_label(moment))}</text>'
        )
    # Sustainable burn: straight from 100% at start to 0% at end.
    parts.append(
        f'<line class="sustainable" x1="{_BD_LEFT}" y1="{_n(_bd_y(_BD_MAX))}" '
        f'x2="{_BD_RIGHT}" y2="{_n(y0)}" stroke="{_MUTED}" stroke-width="1.5" '
        f'stroke-dasharray="6 4"/>'
    )
    # Actual remaining budget, one polyline per run of known values.
    segments: list[list[tuple[float, float]]] = [[]]
    for when, maybe in ordered:
        if maybe is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((_bd_x(when, start, end), _bd_y(maybe)))
    for segment in segments:
        if len(segment) > 1:
            coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in segment)
            parts.append(
                f'<polyline class="remaining" points="{coords}" fill="none" '
                f'stroke="{_LINE}" stroke-width="2.5" stroke-linejoin="round"/>'
            )
        elif segment:
            x, y = segment[0]
            parts.append(
                f'<circle class="remaining-point" cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{_LINE}"/>'
            )
    if known:
        moment, value = known[-1]
        x, y = _bd_x(moment, start, end), _bd_y(value)
        anchor = "end" if x > (_BD_LEFT + _BD_RIGHT) / 2 else "start"
        dx = -6 if anchor == "end" else 6
        parts.append(
            f'<circle class="latest" cx="{_n(x)}" cy="{_n(y)}" r="4" fill="#ffffff" '
            f'stroke="{_LINE}" stroke-width="2"/>'
            f'<text class="latest-label" x="{_n(x + dx)}" y="{_n(y - 8)}" '
            f'text-anchor="{anchor}" font-size="12" font-weight="600" fill="{_TEXT}">'
            f"{_e(display.percent(value))}</text>"
        )
    else:
        parts.append(
            f'<text x="{_n((_BD_LEFT + _BD_RIGHT) / 2)}" y="{_n(_bd_y(Decimal(50)))}" '
            f'text-anchor="middle" font-size="12" fill="{_MUTED}">No data yet</text>'
        )
    # Legend, in words, so the line styles need no colour to be told apart.
    legend_y = _BD_H - 12
    parts.append(
        f'<g class="legend" font-size="11" fill="{_TEXT}">'
        f'<line x1="{_BD_LEFT}" y1="{legend_y - 4}" x2="{_BD_LEFT + 24}" y2="{legend_y - 4}" '
        f'stroke="{_LINE}" stroke-width="2.5"/>'
        f'<text x="{_BD_LEFT + 30}" y="{legend_y}">remaining budget</text>'
        f'<line x1="{_BD_LEFT + 160}" y1="{legend_y - 4}" x2="{_BD_LEFT + 184}" '
        f'y2="{legend_y - 4}" stroke="{_MUTED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        f'<text x="{_BD_LEFT + 190}" y="{legend_y}">sustainable burn</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------
# Gauge
# ---------------------------------------------------------------------------

_G_W = 320
_G_H = 28
_G_TRACK = 180


def gauge_svg(remaining_percent: Decimal | None, *, label: str) -> str:
    """Compact horizontal meter of remaining budget, 0..100, with the value as text.

    Negative values show an empty track and the word "overspent"; ``None`` shows
    "no data" and is exposed as an image since a meter needs a value.
    """
    uid = _uid("gauge", label, remaining_percent)
    if remaining_percent is None:
        text = "no data"
        fill_w = 0.0
        aria = f'role="img" aria-label="{_e(f"{label}: no data")}"'
    else:
        shown = min(max(remaining_percent, Decimal(0)), Decimal(100))
        fill_w = float(shown) / 100 * _G_TRACK
        # Short words that fit beside the track; the card states the figure in full.
        text = (
            "overspent" if remaining_percent < 0 else f"{display.percent(remaining_percent)} left"
        )
        aria = (
            f'role="meter" aria-label="{_e(label)}" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{_e(f"{shown:f}")}" aria-valuetext="{_e(text)}"'
        )
    colour = STATUS_COLOURS[Status.BREACHED] if text.startswith("overspent") else _LINE
    parts = [
        _svg_open(_G_W, _G_H, f'{aria} class="chart chart-gauge"'),
        f'<title id="t-{uid}">{_e(f"{label}: {text}")}</title>',
        f'<rect class="track" x="1" y="6" width="{_G_TRACK}" height="16" rx="3" '
        f'fill="#ffffff" stroke="{_MUTED}" stroke-width="1"/>',
    ]
    if fill_w > 0:
        parts.append(
            f'<rect class="fill" x="1" y="6" width="{_n(fill_w)}" height="16" rx="3" '
            f'fill="{colour}"/>'
        )
    parts.append(
        f'<text class="value" x="{_G_TRACK + 10}" y="19" font-size="13" font-weight="600" '
        f'fill="{colour if remaining_percent is not None else _MUTED}">{_e(text)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
