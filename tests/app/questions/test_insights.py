"""The engine's insight questions: "why did X change" asks ``explain_change``, "forecast X for
the next N weeks" asks ``forecast_metric``; what it cannot read is asked back, never guessed."""

from __future__ import annotations

import pytest

from app.questions.understand import understand
from app.semantic.periods import FrozenClock
from app.tools import registry
from tests.app.questions.conftest import NOW


@pytest.mark.parametrize(
    ("text", "tool", "arguments"),
    [
        (
            "why did revenue drop last week?",
            registry.EXPLAIN_CHANGE,
            {"metric": "revenue", "period": "last-week", "compare": "previous"},
        ),
        (
            "Why did average order value rise last month compared to last year?",
            registry.EXPLAIN_CHANGE,
            {"metric": "average_order_value", "period": "last-month", "compare": "year"},
        ),
        (
            "What drove the change in orders last month?",
            registry.EXPLAIN_CHANGE,
            {"metric": "orders", "period": "last-month", "compare": "previous"},
        ),
        (
            "forecast revenue for the next 4 weeks",
            registry.FORECAST_METRIC,
            {"metric": "revenue", "horizon": 4, "grain": "week"},
        ),
        (
            "Predict orders for the next 3 months",
            registry.FORECAST_METRIC,
            {"metric": "orders", "horizon": 3, "grain": "month"},
        ),
    ],
)
def test_insight_questions_call_their_tools(text, tool, arguments, context):
    intent = understand(text, context)
    assert (intent.tool, intent.arguments, intent.confident) == (tool, arguments, True)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Why did revenue drop?", "explain_period"),  # which period?
        ("why did revenue by channel drop last week?", "explain_unclear"),
        ("why is the sky blue?", "explain_unclear"),
        ("Why?", "explain_unclear"),
        ("forecast please", "forecast_unclear"),
        ("forecast average order value for the next 2 weeks", "not_forecastable"),
        ("forecast the conversion rate for the next 2 weeks", "not_forecastable"),
    ],
)
def test_what_it_cannot_read_is_asked_back(text, reason, context):
    intent = understand(text, context)
    assert (intent.kind, intent.reason) == ("clarify", reason)
    assert "?" in (intent.text or "")  # a question the user can answer, not only examples


async def test_the_engine_explains_and_forecasts_with_charts(make_agent, shop):
    turns = make_agent(None, model="offline")
    turns.answerer.semantic.clock = FrozenClock(NOW)
    why = await turns.ask(tenant=shop, question="why did revenue change last month?")
    assert why.path == "engine" and why.error is None
    (call,) = why.tool_calls
    assert call.name == registry.EXPLAIN_CHANGE and call.error is None
    assert why.answer.startswith("Revenue ") and "driver" in why.answer
    assert len(why.charts) == 1 and why.sql
    ahead = await turns.ask(tenant=shop, question="forecast revenue for the next 4 weeks")
    (call,) = ahead.tool_calls
    assert call.name == registry.FORECAST_METRIC and call.error is None
    assert "forecast for the next 4 weeks" in ahead.answer and len(ahead.charts) == 1
