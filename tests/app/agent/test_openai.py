"""The OpenAI path with the real langchain-openai client against a local OpenAI-compatible
server: streamed tool calls, usage as the server reported it, cost from the price table, and
provider failures (429, 500, timeout) stored with a usable session afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.agent.pricing import cost_usd
from app.store.conversations import session_totals
from tests.app.agent.conftest import stored_messages
from tests.openai_server import Reply

ONLINE = {"model": "openai:gpt-4.1-mini", "openai_api_key": "sk-test-key", "model_max_retries": 0}


async def test_streamed_tool_calls_run_and_usage_is_stored_as_reported(
    make_agent, shop, engine, openai_server
):
    openai_server.script(
        Reply(
            tool_calls=[("run_sql", {"sql": "SELECT count(*) AS orders FROM orders"})],
            prompt_tokens=1200,
            completion_tokens=31,
            cached_tokens=1024,
        ),
        Reply(text="You had 300 orders.", prompt_tokens=1350, completion_tokens=9),
    )
    agent = make_agent(**ONLINE)
    assert not agent.answerer.offline
    events = [e async for e in agent.stream(tenant=shop, question="How many orders?")]
    result = events[-1].result
    assert result.error is None and result.answer == "You had 300 orders."
    assert [e.text for e in events if e.type == "token"] == ["You ", "had ", "300 ", "orders."]
    assert result.tool_calls[0].output["rows"] == [[300]]
    rows = [r for r in await stored_messages(engine, result.session_id) if r["role"] == "assistant"]
    assert [(r["input_tokens"], r["output_tokens"], r["cached_input_tokens"]) for r in rows] == [
        (1200, 31, 1024),
        (1350, 9, 0),
    ]
    assert all(r["model"] == "gpt-4.1-mini-2025-04-14" for r in rows)
    first = cost_usd("gpt-4.1-mini", input_tokens=1200, output_tokens=31, cached_input_tokens=1024)
    assert (
        rows[0]["cost_usd"] == first == Decimal("0.00022240")
    )  # (176*0.4 + 1024*0.1 + 31*1.6) / 1e6
    totals = await session_totals(engine, session_id=result.session_id)
    assert totals.input_tokens == 2550 and totals.cost_usd == sum(r["cost_usd"] for r in rows)
    request = openai_server.received[0]
    assert request.headers["authorization"] == "Bearer sk-test-key"
    assert request.body["stream"] is True and request.body["stream_options"] == {
        "include_usage": True
    }
    assert request.body["model"] == "gpt-4.1-mini"
    assert {t["function"]["name"] for t in request.body["tools"]} == {
        "query_metrics",
        "run_sql",
        "search_products",
        "bundle_rules",
        "explain_change",
        "forecast_metric",
        "make_chart",
    }
    second = openai_server.received[1].body["messages"]
    assert second[-1]["role"] == "tool" and '"rows": [[300]]' in second[-1]["content"]


@pytest.mark.parametrize(
    ("reply", "options", "words"),
    [
        (Reply(status=429), {}, "rate-limiting"),
        (Reply(status=500), {}, "HTTP 500"),
        (Reply(delay_s=2.0, text="too late"), {"model_timeout_s": 0.5}, "did not answer in time"),
    ],
    ids=["429", "500", "timeout"],
)
async def test_provider_failures_are_stored_and_the_session_goes_on(
    make_agent, shop, engine, openai_server, reply, options, words
):
    openai_server.script(reply)
    agent = make_agent(**ONLINE, **options)
    failed = await agent.ask(tenant=shop, question="Revenue this year?")
    assert failed.error is not None and words in failed.answer
    rows = await stored_messages(engine, failed.session_id)
    assert [r["role"] for r in rows] == ["user", "assistant"]
    assert rows[0]["content"] == "Revenue this year?"  # the question survived the failure
    assert words in rows[1]["error"] and rows[1]["model"] == "gpt-4.1-mini"
    openai_server.script(Reply(text="Now it works."))
    again = await agent.ask(tenant=shop, question="Try again?", session_id=failed.session_id)
    assert again.error is None and again.answer == "Now it works."
    sent = openai_server.received[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "user"]  # the failed turn's question
    totals = await session_totals(engine, session_id=failed.session_id)
    assert totals.errors == 1 and totals.questions == 2


async def test_retries_absorb_a_passing_failure(make_agent, shop, openai_server):
    openai_server.script(Reply(status=503), Reply(text="Fine."))
    agent = make_agent(**{**ONLINE, "model_max_retries": 2})
    result = await agent.ask(tenant=shop, question="Still there?")
    assert result.answer == "Fine." and len(openai_server.received) == 2
