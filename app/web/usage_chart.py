"""The usage page's chart, drawn on the server as inline SVG: tokens per day as bars, cost per
day as a line on its own axis, a tooltip (``<title>``) per day.

It replaced a Plotly figure: plotly.js is 4.7 MB that the browser downloaded on a first
visit and parsed and ran on every visit (1.7-1.8 s until the chart showed, 3.6 s on a loaded
machine), for one bar chart. This is a few kilobytes of markup, needs no script (the pages'
CSP no longer allows ``eval``) and takes its colours from the page's theme (CSS classes).
"""

from __future__ import annotations

import math
from decimal import Decimal

from markupsafe import Markup, escape

from app.store.usage import UsageRow
from app.web.chart_ticks import x_tick_labels

WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 16, 36


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def usage_svg(days: list[UsageRow]) -> Markup:
    """The chart for a period's days (every day, zeros included); empty when nothing was used."""
    tokens = [row.input_tokens + row.output_tokens for row in days]
    costs = [float(row.cost_usd or Decimal(0)) for row in days]
    if not days or (not any(tokens) and not any(costs)):
        return Markup("")
    token_top = nice_ceiling(max(tokens) or 1)
    cost_top = nice_ceiling(max(costs) or 0.01)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)

    def y(value: float, top: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg class="usage-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="usage-chart-title usage-chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="usage-chart-title">Tokens and cost per day</title>',
        f'<desc id="usage-chart-desc">{len(days)} days from {escape(days[0].key)} to '
        f"{escape(days[-1].key)}: bars are tokens (input and output), the line is cost in USD. "
        "The table below has the same figures.</desc>",
    ]
    parts += axes(token_top, cost_top)
    for index, (row, count, cost) in enumerate(zip(days, tokens, costs, strict=True)):
        x = LEFT + index * slot
        height = plot_h * count / token_top
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{height:.1f}"><title>{escape(row.key)}: '
            f"{count:,} tokens, {row.model_calls:,} model calls, {cost:.4f} USD</title></rect>"
        )
    points = " ".join(
        f"{LEFT + (i + 0.5) * slot:.1f},{y(cost, cost_top):.1f}" for i, cost in enumerate(costs)
    )
    parts.append(f'<polyline class="cost" points="{points}"/>')
    parts += day_labels(days, slot)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  # numbers and escaped text only


def axes(token_top: float, cost_top: float) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        level = TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" y2="{level:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{level + 4:.1f}" text-anchor="end">'
            f"{short(token_top * fraction)}</text>"
            f'<text class="tick" x="{WIDTH - RIGHT + 6}" y="{level + 4:.1f}">'
            f"${cost_top * fraction:.4g}</text>"
        )
    parts.append(
        f'<text class="legend" x="{LEFT}" y="{HEIGHT - 4}">▮ tokens</text>'
        f'<text class="legend cost-legend" x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" '
        'text-anchor="end">— cost (USD)</text>'
    )
    return parts


def day_labels(days: list[UsageRow], slot: float) -> list[str]:
    labels = [row.key[5:] for row in days]
    return x_tick_labels(labels, x=lambda i: LEFT + (i + 0.5) * slot, y=HEIGHT - BOTTOM + 16)
