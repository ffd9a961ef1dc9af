"""The usage chart drawn on the server: one bar per day scaled to a round axis, a cost line,
text escaped, and nothing at all when nothing was used."""

from __future__ import annotations

import re
from decimal import Decimal

from app.store.usage import UsageRow
from app.web.usage_chart import nice_ceiling, usage_svg


def day(key: str, tokens: int, cost: str | None) -> UsageRow:
    return UsageRow(key, 1 if tokens else 0, tokens, 0, 0, Decimal(cost) if cost else None, 0, 0)


def test_round_axis_tops():
    assert [nice_ceiling(v) for v in (1, 3, 7, 12, 999, 1001, 0.003)] == [
        1,
        5,
        10,
        20,
        1000,
        2000,
        0.005,
    ]


def test_one_bar_per_day_and_a_cost_line():
    days = [
        day("2026-11-01", 0, None),
        day("2026-11-02", 1500, "0.01"),
        day("2026-11-03", 3000, "0.02"),
    ]
    svg = str(usage_svg(days))
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == 3 and heights[0] == 0 and abs(heights[2] - 2 * heights[1]) < 0.2
    assert svg.count("<polyline") == 1
    assert "2026-11-02: 1,500 tokens, 1 model calls, 0.0100 USD" in svg
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg


def test_nothing_used_draws_nothing():
    assert usage_svg([day("2026-11-01", 0, None), day("2026-11-02", 0, None)]) == ""
    assert usage_svg([]) == ""


def test_text_is_escaped():
    svg = str(usage_svg([day("<script>", 10, "0.1")]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
