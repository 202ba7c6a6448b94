"""Small inline-SVG charts for the HTML report: no JavaScript, no external files, print-friendly.

Every label is XML-escaped here, so the returned markup is safe to insert into the page as is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2f6f9f", "#e08a2c", "#4c9a5b", "#b5475b", "#7a5fa6", "#8a8a8a")
WIDTH, HEIGHT = 640, 250
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 18, 56
FONT_SIZE = 16
"""Axis and legend text, in the chart's own units (the viewBox is WIDTH wide)."""
MIN_DISPLAY_WIDTH = 460
"""The narrowest the page shows a chart (CSS px): text is then FONT_SIZE * 460 / 640 = 11.5 px on screen."""
MAX_X_LABELS = 8


def _nice_max(value: float) -> float:
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


def _frame(title: str, labels: Sequence[str], top: float, series_names: Sequence[str], bottom: float = 0.0,
           percent: bool = False) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" class="chart">', f"<title>{escape(title)}</title>"]
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
            parts.append(f'<rect x="{x}" y="{HEIGHT - 17}" width="12" height="12" fill="{colour}"/>')
            parts.append(f'<text x="{x + 17}" y="{HEIGHT - 5}" class="legend" font-size="{FONT_SIZE}">'
                         f"{escape(name)}</text>")
            x += 30 + int(FONT_SIZE * 0.6 * len(name))
    return parts


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
              stacked: bool = False, percent: bool = False, max_value: float | None = None) -> str:
    """Grouped (or stacked) vertical bars, one group per label."""
    names = list(series)
    values = [[0.0 if v is None else float(v) for v in series[name]] for name in names]
    if stacked:
        peak = max((sum(col) for col in zip(*values, strict=False)), default=0.0)
    else:
        peak = max((max(v, default=0.0) for v in values), default=0.0)
    top = max_value if max_value is not None else _nice_max(peak)
    parts = _frame(title, labels, top, names, percent=percent)
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
            label = f"{labels[j]}: {name} {_number(value) if not percent else f'{value * 100:.1f}%'}"
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 0.5, 0.5):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}</title></rect>')
            if stacked:
                base += value
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
               percent: bool = False) -> str:
    """One line per series over the labels (gaps where a value is None)."""
    names = list(series)
    peak = max((float(v) for name in names for v in series[name] if v is not None), default=0.0)
    top = _nice_max(peak)
    parts = _frame(title, labels, top, names, percent=percent)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)
    for i, name in enumerate(names):
        points = []
        for j, value in enumerate(series[name]):
            if value is None:
                continue
            x = LEFT + plot_w * (j + 0.5) / n
            y = TOP + plot_h - plot_h * float(value) / top
            points.append(f"{x:.1f},{y:.1f}")
        if points:
            colour = PALETTE[i % len(PALETTE)]
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                         f'stroke-width="2.5"><title>{escape(name)}</title></polyline>')
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
