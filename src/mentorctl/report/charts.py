"""Small inline-SVG charts for the HTML report: no JavaScript, no external files, print-friendly.

Every chart has axis titles; counts get whole-number ticks; compared bars carry their values; a target can
be drawn as a dashed line (a level, or a straight line from 0 to the target for cumulative series); a chart
without data says so instead of drawing empty axes. Every label is XML-escaped here, so the returned markup
is safe to insert into the page as is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2f6f9f", "#e08a2c", "#4c9a5b", "#b5475b", "#7a5fa6", "#8a8a8a")
TARGET_COLOUR = "#b3412f"
WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 22, 80
FONT_SIZE = 16
"""Axis and legend text, in the chart's own units (the viewBox is WIDTH wide)."""
MIN_DISPLAY_WIDTH = 460
"""The narrowest the page shows a chart (CSS px): text is then FONT_SIZE * 460 / 640 = 11.5 px on screen."""
MAX_X_LABELS = 8


def _nice_max(value: float, integer: bool = False) -> float:
    """The top of the value axis: a round number above `value`; for counts (`integer`) four times a whole
    tick step (1, 2, 5, 10, 20, 25, 50, …), so that all five ticks are whole numbers."""
    if integer:
        scale = 1
        while True:
            for whole in (1, 2, 5):
                if 4 * whole * scale >= value:
                    return float(4 * whole * scale)
            scale *= 10
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:g}" if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def empty_chart(title: str, message: str = "No data in this period") -> str:
    """What a chart without data shows: its title's frame and a sentence, no empty axes."""
    return (f'<svg viewBox="0 0 {WIDTH} 90" role="img" aria-label="{escape(title)}: {escape(message)}" '
            f'class="chart empty"><title>{escape(title)}</title>'
            f'<rect x="1" y="1" width="{WIDTH - 2}" height="88" rx="8" class="nodata"/>'
            f'<text x="{WIDTH / 2:.0f}" y="52" text-anchor="middle" class="legend" font-size="{FONT_SIZE + 2}">'
            f"{escape(message)}</text></svg>")


def _frame(title: str, labels: Sequence[str], top: float, series_names: Sequence[str], bottom: float = 0.0,
           percent: bool = False, x_title: str = "", y_title: str = "") -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" class="chart">', f"<title>{escape(title)}</title>"]
    if y_title:
        parts.append(f'<text x="{FONT_SIZE}" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" class="axis" '
                     f'font-size="{FONT_SIZE}" transform="rotate(-90 {FONT_SIZE} {TOP + plot_h / 2:.0f})">'
                     f"{escape(y_title)}</text>")
    if x_title:
        parts.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h + 2 * FONT_SIZE + 10}" '
                     f'text-anchor="middle" class="axis" font-size="{FONT_SIZE}">{escape(x_title)}</text>')
    for i in range(5):
        value = bottom + (top - bottom) * i / 4
        y = TOP + plot_h - plot_h * i / 4
        text = f"{value * 100:.0f}%" if percent else _number(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" class="tick" '
                     f'font-size="{FONT_SIZE}">{escape(text)}</text>')
    n = max(len(labels), 1)
    every = max(1, math.ceil(n / MAX_X_LABELS))
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = LEFT + plot_w * (i + 0.5) / n
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + FONT_SIZE + 4}" text-anchor="middle" class="tick" '
                     f'font-size="{FONT_SIZE}">{escape(str(label))}</text>')
    if len(series_names) > 1:
        x = LEFT
        for i, name in enumerate(series_names):
            colour = PALETTE[i % len(PALETTE)]
            dash = ' stroke-dasharray="6 4"' if name.startswith("target") else ""
            if name.startswith("target"):
                parts.append(f'<line x1="{x}" x2="{x + 14}" y1="{HEIGHT - 11}" y2="{HEIGHT - 11}" '
                             f'stroke="{TARGET_COLOUR}" stroke-width="2.5"{dash}/>')
            else:
                parts.append(f'<rect x="{x}" y="{HEIGHT - 17}" width="12" height="12" fill="{colour}"/>')
            parts.append(f'<text x="{x + 19}" y="{HEIGHT - 5}" class="legend" font-size="{FONT_SIZE}">'
                         f"{escape(name)}</text>")
            x += 30 + int(FONT_SIZE * 0.6 * len(name))
    return parts


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
              stacked: bool = False, percent: bool = False, max_value: float | None = None,
              x_title: str = "", y_title: str = "", integer: bool = False, value_labels: bool = False) -> str:
    """Grouped (or stacked) vertical bars, one group per label. `integer`: whole-number ticks (counts);
    `value_labels`: each bar's value above it (for bars that are compared)."""
    names = list(series)
    values = [[0.0 if v is None else float(v) for v in series[name]] for name in names]
    if not labels or not any(v for row in values for v in row):
        return empty_chart(title)
    if stacked:
        peak = max((sum(col) for col in zip(*values, strict=False)), default=0.0)
    else:
        peak = max((max(v, default=0.0) for v in values), default=0.0)
    top = max_value if max_value is not None else _nice_max(peak, integer)
    parts = _frame(title, labels, top, names, percent=percent, x_title=x_title, y_title=y_title)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)
    slot = plot_w / n
    width = slot * 0.8 / (1 if stacked else max(len(names), 1))
    for j in range(len(labels)):
        base = 0.0
        for i, name in enumerate(names):
            value = values[i][j]
            h = plot_h * value / top if top else 0
            x = LEFT + slot * j + slot * 0.1 + (0 if stacked else i * width)
            y = TOP + plot_h - h - (plot_h * base / top if stacked and top else 0)
            shown = f"{value * 100:.1f}%" if percent else _number(value)
            label = f"{labels[j]}: {name} {shown}"
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 0.5, 0.5):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}</title></rect>')
            if value_labels and not stacked:
                parts.append(f'<text x="{x + width / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" class="value" '
                             f'font-size="{FONT_SIZE}">{escape(shown)}</text>')
            if stacked:
                base += value
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
               percent: bool = False, x_title: str = "", y_title: str = "", integer: bool = False,
               target: float | None = None, target_at: float = 1.0) -> str:
    """One line per series over the labels (gaps where a value is None). `target`: a dashed target line
    rising from 0 at the first label to `target` × `target_at` at the last (`target_at` is the share of the
    programme the labels cover), i.e. the pace a cumulative series must keep to reach its target."""
    names = list(series)
    known = [float(v) for name in names for v in series[name] if v is not None]
    if not labels or not any(known):
        return empty_chart(title)
    reach = target * target_at if target is not None else None
    peak = max(known + ([reach] if reach is not None else []), default=0.0)
    top = _nice_max(peak, integer)
    shown = names + (["target pace"] if target is not None else [])
    parts = _frame(title, labels, top, shown, percent=percent, x_title=x_title, y_title=y_title)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)
    if reach is not None:
        x0, x1 = LEFT + plot_w * 0.5 / n, LEFT + plot_w * (n - 0.5) / n
        y1 = TOP + plot_h - plot_h * reach / top
        parts.append(f'<line x1="{x0:.1f}" y1="{TOP + plot_h:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" class="target" '
                     f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4">'
                     f"<title>{escape(f'target pace: {_number(reach)} by the end of the period')}</title></line>")
    for i, name in enumerate(names):
        points = []
        last = None
        for j, value in enumerate(series[name]):
            if value is None:
                continue
            x = LEFT + plot_w * (j + 0.5) / n
            y = TOP + plot_h - plot_h * float(value) / top
            points.append(f"{x:.1f},{y:.1f}")
            last = (x, y, float(value))
        if points:
            colour = PALETTE[i % len(PALETTE)]
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                         f'stroke-width="2.5"><title>{escape(name)}</title></polyline>')
            if last is not None:   # the latest value, where the line ends
                text = f"{last[2] * 100:.0f}%" if percent else _number(round(last[2], 1))
                parts.append(f'<text x="{min(last[0], WIDTH - RIGHT - 4):.1f}" y="{last[1] - 7:.1f}" '
                             f'text-anchor="end" class="value" font-size="{FONT_SIZE}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float | None], target: float | None = None, width: int = 120,
              height: int = 28) -> str:
    """A tiny trend line (with the target as a dashed line) for a goal row."""
    known = [float(v) for v in values if v is not None]
    if len(known) < 2:
        return ""
    low = min(known + ([target] if target is not None else []))
    high = max(known + ([target] if target is not None else []))
    span = (high - low) or 1.0

    def y(v: float) -> float:
        return height - 3 - (height - 6) * (v - low) / span

    step = (width - 6) / (len(values) - 1)
    points = " ".join(f"{3 + i * step:.1f},{y(float(v)):.1f}" for i, v in enumerate(values) if v is not None)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" class="spark" aria-hidden="true">']
    if target is not None:
        parts.append(f'<line x1="0" x2="{width}" y1="{y(target):.1f}" y2="{y(target):.1f}" class="target"/>')
    parts.append(f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/></svg>')
    return "".join(parts)
