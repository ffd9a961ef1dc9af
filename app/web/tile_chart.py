"""A tile's chart on the dashboard, drawn on the server as inline SVG (like the usage chart:
no script, the pages' CSP allows none), from the same figure the chat draws with plotly
(``app.tools.charts.build_figure``): bars, lines (areas, points) and pies, one colour class
per series, a ``<title>`` tooltip per point, the text escaped.

A figure's traces carry their own x and y (or labels and values); dates and categories are
placed evenly in their order, numbers on a scale from zero (or the smallest value below it).
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from app.tools.charts import Chart
from app.web.chart_ticks import x_tick_labels

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48
SERIES_CLASSES = 8
Point = tuple[int, float, Any]  # category index, value, the x as given


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.4g}"


def number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def chart_svg(chart: Chart, *, label_id: str) -> Markup:
    """The chart as SVG, titled by the element ``label_id`` names plus its own description."""
    traces = [t for t in chart.figure.get("data") or [] if isinstance(t, dict)]
    if not traces:
        return Markup("")
    body = pie(traces[0]) if traces[0].get("type") == "pie" else plot(traces)
    description = escape(describe(chart, traces))
    svg = (
        f'<svg class="tile-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(label_id)} {escape(label_id)}-desc" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<desc id="{escape(label_id)}-desc">{description}</desc>{"".join(body)}</svg>'
    )
    return Markup(svg)  # noqa: S704  # numbers and escaped text only


def describe(chart: Chart, traces: list[dict[str, Any]]) -> str:
    names = ", ".join(str(t.get("name") or "") for t in traces[:6])
    return f"{chart.spec.kind} chart of {names}; the table has the same figures."


def plot(traces: list[dict[str, Any]]) -> list[str]:
    categories = list(dict.fromkeys(str(x) for t in traces for x in t.get("x") or []))
    values = [number(y) for t in traces for y in t.get("y") or []]
    if not categories or not values:
        return []
    top = nice_ceiling(max(max(values), 0) or 1)
    bottom = -nice_ceiling(-min(values)) if min(values) < 0 else 0.0
    frame = Frame(len(categories), bottom, top)
    parts = frame.axes()
    bars = [t for t in traces if t.get("type") == "bar"]
    for index, trace in enumerate(traces):
        css = f"series-{index % SERIES_CLASSES}"
        points = [(categories.index(str(x)), number(y), x) for x, y in pairs(trace)]
        if trace.get("type") == "bar":
            parts += frame.bars(points, bars.index(trace), len(bars), css, trace)
        else:
            parts += frame.line(points, css, trace)
    parts += frame.x_labels(categories)
    parts += legend(traces)
    return parts


def pairs(trace: dict[str, Any]) -> list[tuple[Any, Any]]:
    return list(zip(trace.get("x") or [], trace.get("y") or [], strict=False))


def tooltip(trace: dict[str, Any], x: Any, y: float) -> str:
    name = f"{trace.get('name')}: " if trace.get("name") else ""
    return f"<title>{escape(name)}{escape(str(x))}: {y:,.4g}</title>"


class Frame:
    """The plot area: categories spread across, values from ``bottom`` to ``top``."""

    def __init__(self, slots: int, bottom: float, top: float) -> None:
        self.width, self.height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.slot = self.width / slots
        self.bottom, self.top = bottom, top

    def y(self, value: float) -> float:
        return TOP + self.height * (1 - (value - self.bottom) / (self.top - self.bottom))

    def x(self, index: int) -> float:
        return LEFT + (index + 0.5) * self.slot

    def axes(self) -> list[str]:
        parts = []
        for fraction in (0, 0.5, 1):
            value = self.bottom + (self.top - self.bottom) * fraction
            level = self.y(value)
            parts.append(
                f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" '
                f'y2="{level:.1f}"/><text class="tick" x="{LEFT - 6}" y="{level + 4:.1f}" '
                f'text-anchor="end">{short(value)}</text>'
            )
        return parts

    def bars(self, points: list[Point], which: int, count: int, css: str, trace: Any) -> list[str]:
        width = self.slot * 0.8 / count
        zero = self.y(max(self.bottom, 0.0))
        parts = []
        for index, value, label in points:
            x = LEFT + index * self.slot + self.slot * 0.1 + which * width
            top, height = min(zero, self.y(value)), abs(zero - self.y(value))
            parts.append(
                f'<rect class="bar {css}" x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}">{tooltip(trace, label, value)}</rect>'
            )
        return parts

    def line(self, points: list[Point], css: str, trace: dict[str, Any]) -> list[str]:
        coordinates = " ".join(f"{self.x(i):.1f},{self.y(v):.1f}" for i, v, _ in points)
        parts = []
        if trace.get("fill") and points:
            base = self.y(max(self.bottom, 0.0))
            first, last = self.x(points[0][0]), self.x(points[-1][0])
            parts.append(
                f'<polygon class="area {css}" points="{first:.1f},{base:.1f} {coordinates} '
                f'{last:.1f},{base:.1f}"/>'
            )
        if trace.get("mode") != "markers":
            parts.append(f'<polyline class="line {css}" points="{coordinates}"/>')
        for index, value, x in points:
            parts.append(
                f'<circle class="point {css}" cx="{self.x(index):.1f}" cy="{self.y(value):.1f}" '
                f'r="3">{tooltip(trace, x, value)}</circle>'
            )
        return parts

    def x_labels(self, categories: list[str]) -> list[str]:
        labels = [label[:16] for label in categories]
        return x_tick_labels(labels, x=self.x, y=HEIGHT - BOTTOM + 16)


def legend(traces: list[dict[str, Any]]) -> list[str]:
    if len(traces) < 2:
        return []
    step = (WIDTH - LEFT) / min(len(traces), 6)
    return [
        f'<text class="legend series-{i % SERIES_CLASSES}" x="{LEFT + i * step:.1f}" '
        f'y="{HEIGHT - 6}">■ {escape(str(t.get("name") or "")[:24])}</text>'
        for i, t in enumerate(traces[:6])
    ]


def pie(trace: dict[str, Any]) -> list[str]:
    labels = [str(label) for label in trace.get("labels") or []]
    values = [max(number(v), 0.0) for v in trace.get("values") or []]
    total = sum(values)
    if not total:
        return []
    cx, cy, radius = HEIGHT / 2, HEIGHT / 2, HEIGHT / 2 - 12
    parts, angle = [], -math.pi / 2
    for index, (label, value) in enumerate(zip(labels, values, strict=False)):
        sweep = 2 * math.pi * value / total
        parts.append(slice_path(cx, cy, radius, angle, sweep, index, label, value, total))
        parts.append(
            f'<text class="legend series-{index % SERIES_CLASSES}" x="{HEIGHT + 16}" '
            f'y="{24 + index * 20}">■ {escape(label[:32])} ({value / total:.0%})</text>'
        )
        angle += sweep
    return parts


def slice_path(
    cx: float, cy: float, r: float, start: float, sweep: float, index: int, label: str, *more: float
) -> str:
    value, total = more
    css = f"slice series-{index % SERIES_CLASSES}"
    title = f"<title>{escape(label)}: {value:,.4g} ({value / total:.0%})</title>"
    if sweep >= 2 * math.pi - 1e-9:
        return f'<circle class="{css}" cx="{cx}" cy="{cy}" r="{r}">{title}</circle>'
    end = start + sweep
    x1, y1 = cx + r * math.cos(start), cy + r * math.sin(start)
    x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
    large = 1 if sweep > math.pi else 0
    return (
        f'<path class="{css}" d="M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} '
        f'A{r:.1f},{r:.1f} 0 {large} 1 {x2:.1f},{y2:.1f} Z">{title}</path>'
    )
