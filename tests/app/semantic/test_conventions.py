"""The team's conventions, compiled: revenue is order totals at the order grain and order lines'
totals by product dimensions (and says which); money, ratings and rates are rounded in the
output columns only, never inside ratios or comparisons (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot
from sqlglot import exp

from app.semantic.compiler import compile_plan
from app.semantic.interpretation import interpret
from app.semantic.model import default_model
from app.semantic.plan import build_plan
from app.semantic.prompt_text import render_metrics
from app.semantic.query import SemanticQuery
from app.semantic.values import DimensionValue, ValuesIndex

MODEL = default_model()
INDEX = ValuesIndex(
    [
        DimensionValue("channel", "web", "Web"),
        DimensionValue("department", "outdoor", "Outdoor"),
        DimensionValue("category", "outdoor", "Outdoor"),
        DimensionValue("brand", "Acme", "Acme"),
    ]
)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def plan_of(data: dict):
    query = SemanticQuery.parse(data)
    return build_plan(query, MODEL, INDEX, timezone="Europe/London", week_start="monday", now=NOW)


def sql_of(data: dict) -> str:
    return compile_plan(MODEL, plan_of(data)).sql


@pytest.mark.parametrize(
    ("data", "counted", "label"),
    [
        ({"metrics": ["revenue"]}, "o.total_amount", "order totals"),
        ({"metrics": ["revenue"], "by": ["channel"]}, "o.total_amount", "order totals"),
        ({"metrics": ["revenue"], "by": ["customer"]}, "o.total_amount", "order totals"),
        ({"metrics": ["revenue"], "by": ["brand"]}, "oi.line_total", "order line totals"),
        (
            {
                "metrics": ["revenue"],
                "by": ["channel"],
                "filters": [{"dimension": "department", "values": ["outdoor"]}],
            },
            "oi.line_total",
            "order line totals",
        ),
        ({"metrics": ["average_order_value"], "by": ["channel"]}, "o.total_amount", "order totals"),
    ],
)
def test_revenue_is_counted_at_the_grain_the_query_needs(data, counted, label):
    sql = sql_of(data)
    assert f"SUM({counted})" in sql
    other = "oi.line_total" if counted == "o.total_amount" else "o.total_amount"
    assert other not in sql
    assert f"· {label} of paid, shipped or delivered orders" in interpret(MODEL, plan_of(data))


def test_the_prompt_says_both_grains_of_revenue():
    line = next(x for x in render_metrics(MODEL).splitlines() if x.startswith("- revenue "))
    assert "sum(orders.total_amount) where R" in line
    assert "by category, department, brand, product: sum(order_items.line_total) where R" in line
    assert "- average_order_value (money) = revenue / orders." in render_metrics(MODEL)


def output_and_inner(sql: str) -> tuple[exp.Select, list[exp.Expr]]:
    tree = sqlglot.parse_one(sql, read="postgres")
    assert isinstance(tree, exp.Select)
    return tree, [cte.this for cte in tree.args["with_"].expressions]


@pytest.mark.parametrize(
    "data",
    [
        {"metrics": ["revenue", "average_order_value", "orders", "refund_rate"], "by": ["channel"]},
        {"metrics": ["average_rating", "reviews"], "by": ["brand"]},
        {"metrics": ["gross_margin", "margin_pct", "units"], "period": "2025", "compare": "year"},
        {"metrics": ["average_delivery_time"], "by": ["channel"], "period": "last-30-days"},
        {"metrics": ["stock_value", "out_of_stock_products"], "by": ["brand"]},
    ],
)
def test_only_output_columns_are_rounded(data):
    final, inner = output_and_inner(sql_of(data))
    assert not [node for cte in inner for node in cte.find_all(exp.Round)]
    plan = plan_of(data)
    formats = {m.name: m.format for m in plan.metrics}
    for column in final.expressions:
        name = column.alias_or_name
        metric = name.removesuffix("_previous").removesuffix("_change")
        if name.endswith("_change_pct") or formats.get(metric) in ("money", "rating", "percent"):
            assert isinstance(column.this, exp.Round), name
            rounds = list(column.this.this.find_all(exp.Round))
            assert rounds == [], f"{name} rounds a value it computes from"
        elif formats.get(metric) == "count":
            assert not list(column.find_all(exp.Round)), name


def test_decimals_and_share_round_what_the_owner_reads():
    sql = sql_of({"metrics": ["revenue"], "by": ["channel"], "share": True, "decimals": 1})
    assert "ROUND(CAST((COALESCE(m.order_revenue, 0)) AS DECIMAL), 1) AS revenue" in sql
    assert "SUM((COALESCE(m.order_revenue, 0))) OVER ()" in sql
    assert sql.endswith(
        "AS revenue_share_pct FROM m1 AS m ORDER BY revenue DESC NULLS LAST, channel"
    )
    text = interpret(MODEL, plan_of({"metrics": ["revenue"], "share": True, "decimals": 1}))
    assert text.endswith("with each row's % of the total · rounded to 1 decimals")


def test_a_share_needs_a_metric_that_adds_up():
    from app.semantic.errors import InvalidQuery

    with pytest.raises(InvalidQuery, match="share of the total needs a metric that adds up"):
        plan_of({"metrics": ["average_rating"], "by": ["brand"], "share": True})


@pytest.mark.parametrize(
    ("data", "note"),
    [
        ({"metrics": ["revenue"], "by": ["segment"]}, "orders without a customer left out"),
        ({"metrics": ["units"], "by": ["customer"]}, "orders without a customer left out"),
        ({"metrics": ["orders"], "by": ["signed_up"], "grain": "year"}, "orders without a custo"),
        ({"metrics": ["product_views"], "by": ["segment"]}, "product events without a customer"),
    ],
)
def test_groups_reached_through_an_empty_key_leave_those_rows_out(data, note):
    """Guest orders are no segment's or customer's: no empty group, and the owner is told."""
    assert note in interpret(MODEL, plan_of(data))
    assert " IS NULL" in sql_of(data)


def test_groups_always_present_leave_nothing_out():
    data = {"metrics": ["revenue", "signups"], "by": ["channel"]}
    with pytest.raises(Exception, match="signups cannot be split"):
        plan_of(data)
    for data in (
        {"metrics": ["revenue"], "by": ["channel"]},
        {"metrics": ["signups"], "by": ["segment"]},
    ):
        assert "left out" not in interpret(MODEL, plan_of(data))
        assert "IS NULL" not in sql_of(data)
