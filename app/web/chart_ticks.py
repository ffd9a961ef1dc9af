"""Category labels under the server-drawn SVG charts: at most a few, evenly spaced, so that
they never overlap however many categories (days, products) a chart has."""

from __future__ import annotations

import math
from collections.abc import Callable

from markupsafe import escape

MAX_LABELS = 8


def x_tick_labels(labels: list[str], *, x: Callable[[int], float], y: float) -> list[str]:
    """``<text>`` labels for every n-th category, centred at ``x(index)`` on the line ``y``."""
    every = max(1, math.ceil(len(labels) / MAX_LABELS))
    return [
        f'<text class="tick" x="{x(i):.1f}" y="{y}" text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]
