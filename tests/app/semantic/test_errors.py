"""Bad input gets a typed error that says what is wrong and what is accepted, and nothing runs."""

from __future__ import annotations

import pytest

from app.semantic.errors import InvalidQuery
from app.semantic.query import SemanticQuery
from app.semantic.values import UnknownValue


async def plan_error(layer, tenant, data) -> InvalidQuery:
    with pytest.raises(InvalidQuery) as caught:
        await layer.plan(tenant, SemanticQuery.parse(data))
    return caught.value


async def test_unknown_metric_lists_the_closest_names(shops, layer):
    error = await plan_error(layer, shops.london, {"metrics": ["revenu"]})
    assert error.code == "unknown_metric"
    assert "Did you mean 'revenue'" in error.message and "Metrics: revenue" in error.message


async def test_unknown_dimension_lists_the_closest_names(shops, layer):
    error = await plan_error(layer, shops.london, {"metrics": ["revenue"], "by": ["chanel"]})
    assert error.code == "unknown_dimension"
    assert "Did you mean 'channel'" in error.message


async def test_a_dimension_the_metric_does_not_allow(shops, layer):
    error = await plan_error(
        layer, shops.london, {"metrics": ["average_order_value"], "by": ["category"]}
    )
    assert error.code == "dimension_not_allowed"
    assert "average_order_value cannot be split or filtered by category" in error.message
    assert "allows: channel" in error.message
    error = await plan_error(layer, shops.london, {"metrics": ["stock_value"], "by": ["channel"]})
    assert error.code == "dimension_not_allowed"
    error = await plan_error(
        layer,
        shops.london,
        {"metrics": ["revenue"], "filters": [{"dimension": "reviewed", "values": ["2025"]}]},
    )
    assert error.code == "dimension_not_allowed"


async def test_from_after_to(shops, layer):
    error = await plan_error(
        layer,
        shops.london,
        {"metrics": ["revenue"], "from_date": "2026-03-01", "to_date": "2026-02-01"},
    )
    assert error.code == "invalid_range"
    assert "2026-03-01 > 2026-02-01" in error.message


async def test_unknown_filter_value_lists_the_closest_values(shops, layer):
    error = await plan_error(
        layer,
        shops.london,
        {"metrics": ["revenue"], "filters": [{"dimension": "channel", "values": ["webshopp"]}]},
    )
    assert isinstance(error, UnknownValue) and error.code == "unknown_value"
    assert "no channel 'webshopp'" in error.message
    assert "'Web' (web)" in error.message.split("Closest:")[1]
    error = await plan_error(
        layer,
        shops.london,
        {"metrics": ["revenue"], "filters": [{"dimension": "category", "values": ["tentz"]}]},
    )
    assert "'Tents' (tents)" in error.message


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"metrics": ["revenue"], "period": "fortnight"}, "invalid_period"),
        ({"metrics": ["revenue"], "period": "2031"}, "future_period"),
        ({"metrics": ["revenue"], "period": "all", "compare": "previous"}, "invalid_compare"),
        (
            {"metrics": ["stock_value"], "period": "last-month", "compare": "year"},
            "invalid_compare",
        ),
        ({"metrics": ["stock_value"], "grain": "month"}, "no_time"),
        ({"metrics": ["revenue"], "by": ["placed", "signed_up"]}, "invalid_query"),
        (
            {
                "metrics": ["revenue"],
                "filters": [{"dimension": "channel", "op": ">=", "values": ["web"]}],
            },
            "invalid_filter",
        ),
        (
            {
                "metrics": ["revenue"],
                "filters": [{"dimension": "placed", "op": ">=", "values": ["May"]}],
            },
            "invalid_filter",
        ),
        ({"metrics": ["revenue"], "order_by": "brand"}, "invalid_order"),
        (
            {
                "metrics": ["revenue"],
                "from_date": "2024-01-01",
                "to_date": "2025-06-30",
                "compare": "year",
            },
            "invalid_compare",
        ),
    ],
)
async def test_other_bad_queries_name_the_problem(shops, layer, data, code):
    assert (await plan_error(layer, shops.london, data)).code == code


def test_malformed_queries_are_one_invalid_query_error():
    with pytest.raises(InvalidQuery, match=r"metrics: List should have at least 1 item"):
        SemanticQuery.parse({"metrics": []})
    with pytest.raises(InvalidQuery, match="top or bottom, not both"):
        SemanticQuery.parse({"metrics": ["revenue"], "top": 3, "bottom": 3})
    with pytest.raises(InvalidQuery, match="grain"):
        SemanticQuery.parse({"metrics": ["revenue"], "grain": "fortnight"})
