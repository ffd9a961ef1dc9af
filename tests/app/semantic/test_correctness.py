"""Every case of ``cases.py``: the compiled query returns what the hand-written SQL returns.

Both run through the SQL tool as the shop's reader. Rows are compared as multisets (in order
when the case says so) on the hand-written query's columns, numbers within 1e-9 relative."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import text

from app.semantic.query import SemanticQuery
from app.tools.query_metrics import run_query_metrics
from tests.app.semantic.cases import CASES, ITEMS, PAID, Case


def same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def projected(columns: list[str], rows: list[list[Any]], wanted: list[str]) -> list[list[Any]]:
    missing = [c for c in wanted if c not in columns]
    assert not missing, f"compiled result lacks {missing}; it has {columns}"
    index = [columns.index(c) for c in wanted]
    return [[row[i] for i in index] for row in rows]


def sort_key(row: list[Any]) -> tuple[str, ...]:
    return tuple("" if v is None else f"{v:.6f}" if isinstance(v, float) else str(v) for v in row)


def assert_same_rows(expected: list[list[Any]], actual: list[list[Any]], ordered: bool) -> None:
    if not ordered:
        expected, actual = sorted(expected, key=sort_key), sorted(actual, key=sort_key)
    assert len(expected) == len(actual), f"{len(expected)} rows expected, got {len(actual)}"
    for want, got in zip(expected, actual, strict=True):
        assert all(same(w, g) for w, g in zip(want, got, strict=True)), f"{want} != {got}"


async def run_case(case: Case, shops, layer, executor) -> tuple[Any, Any]:
    tenant = getattr(shops, case.shop)
    compiled = await run_query_metrics(layer, executor, tenant, SemanticQuery.parse(case.query))
    hand = await executor.run(tenant_id=tenant.id, sql=case.sql, max_rows=500)
    return compiled, hand


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_compiled_query_equals_the_hand_written_one(case, shops, layer, executor):
    compiled, hand = await run_case(case, shops, layer, executor)
    assert hand.row_count > 0 or "empty" in case.tags, "a case must have data to compare"
    assert not compiled.run.truncated
    rows = projected(compiled.run.columns, compiled.run.rows, hand.columns)
    assert_same_rows(hand.rows, rows, case.ordered)


def test_the_cases_cover_what_the_issue_lists():
    tags = {tag for case in CASES for tag in case.tags}
    assert len(CASES) >= 40
    assert {"fan-out", "empty", "partial", "timezone", "year-boundary", "compare"} <= tags


async def test_the_fan_out_trap_is_real(shops, layer, executor, engine):
    """Joining reviews to order lines naively counts each line once per review of its
    product: the naive revenue by category is larger; the compiled one is not."""
    tenant = shops.london
    naive = (
        "SELECT c.name AS category, sum(oi.line_total) AS revenue, avg(r.rating) AS rating "
        f"FROM {ITEMS} JOIN products p ON p.id = oi.product_id JOIN categories c ON "
        f"c.id = p.category_id JOIN reviews r ON r.product_id = p.id WHERE {PAID} GROUP BY c.name"
    )
    wrong = await executor.run(tenant_id=tenant.id, sql=naive)
    query = SemanticQuery.parse({"metrics": ["revenue", "average_rating"], "by": ["category"]})
    right = await run_query_metrics(layer, executor, tenant, query)
    truth = dict(right.run.rows[i][:2] for i in range(right.run.row_count))
    inflated = [row for row in wrong.rows if row[1] > truth[row[0]] * 1.5]
    assert inflated, "the naive join should inflate revenue; the trap is not exercised"
    async with engine.connect() as connection:
        total = await connection.scalar(
            text(
                "SELECT sum(oi.line_total) FROM order_items oi JOIN orders o ON o.id = oi.order_id "
                "WHERE o.tenant_id = :t AND o.status IN ('paid', 'shipped', 'delivered')"
            ),
            {"t": tenant.id},
        )
    assert math.isclose(sum(truth.values()), float(total), rel_tol=1e-9)


async def test_partial_periods_are_marked(shops, layer, executor):
    tenant = shops.london
    for period, partial in (("this-month", True), ("last-month", False), ("ytd", True)):
        query = SemanticQuery.parse({"metrics": ["revenue"], "period": period})
        result = (await run_query_metrics(layer, executor, tenant, query)).to_dict()
        assert result["partial"] is partial and result["period"]["partial"] is partial
    query = SemanticQuery.parse(
        {"metrics": ["revenue"], "period": "this-month", "compare": "previous"}
    )
    result = (await run_query_metrics(layer, executor, tenant, query)).to_dict()
    assert result["comparison"]["like_for_like"] is True
    assert (result["period"]["from"], result["period"]["to"]) == ("2026-11-01", "2026-11-22")
    assert (result["comparison"]["from"], result["comparison"]["to"]) == (
        "2026-10-01",
        "2026-10-22",
    )
    assert result["interpretation"] == (
        "Revenue · 1–22 Nov 2026 (to date) · vs 1–22 Oct 2026 (previous period) · "
        "order totals of paid, shipped or delivered orders"
    )


async def test_grouping_by_the_metrics_own_time_is_their_time_series(shops, layer, executor):
    """``by placed`` for revenue is revenue by its own date: buckets, partial flags and the
    comparison line up as with ``grain`` alone."""
    tenant = shops.london
    base = {"metrics": ["revenue"], "period": "this-quarter", "compare": "year"}
    named = await run_query_metrics(
        layer, executor, tenant, SemanticQuery.parse({**base, "by": ["placed"], "grain": "month"})
    )
    plain = await run_query_metrics(
        layer, executor, tenant, SemanticQuery.parse({**base, "grain": "month"})
    )
    assert named.run.columns == plain.run.columns
    assert named.run.columns[:2] == ["month", "revenue"] and "partial" in named.run.columns
    assert named.run.rows == plain.run.rows and len(plain.run.rows) == 2


EXACT_RATINGS = (
    "SELECT p.name AS product, avg(r.rating)::float AS exact FROM reviews r "
    "JOIN products p ON p.id = r.product_id GROUP BY p.sku, p.name ORDER BY exact DESC, p.name"
)


async def test_a_top_n_is_cut_on_exact_values_not_the_rounded_ones_shown(shops, executor, layer):
    """Where two products' averages differ but show the same (rounded to whole stars here),
    the top N that cuts between them keeps the higher one (ranking the shown values would
    leave it to the names)."""
    tenant = shops.london
    exact = (await executor.run(tenant_id=tenant.id, sql=EXACT_RATINGS, max_rows=5000)).rows
    cuts = [
        n
        for n in range(1, len(exact))
        if exact[n - 1][1] > exact[n][1]
        and round(exact[n - 1][1]) == round(exact[n][1])
        and exact[n][0] < exact[n - 1][0]  # by name the lower one would come first
    ]
    assert cuts, "the shop has no such pair: the test would prove nothing"
    asked = {"metrics": ["average_rating"], "by": ["product"], "top": cuts[0], "decimals": 0}
    query = SemanticQuery.parse(asked)
    compiled = await run_query_metrics(layer, executor, tenant, query)
    names = [row[0] for row in projected(compiled.run.columns, compiled.run.rows, ["product"])]
    assert names == [row[0] for row in exact[: cuts[0]]]
