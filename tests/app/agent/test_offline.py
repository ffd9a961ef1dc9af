"""Offline mode: answers close-enough questions from verified SQL, declines the rest, and
labels every answer."""

from __future__ import annotations

from app.agent.offline import OFFLINE_LABEL
from tests.app.agent.conftest import stored_messages


async def test_offline_answers_a_paraphrase_of_a_verified_question(make_agent, shop, engine):
    agent = make_agent(model="offline")
    assert agent.answerer.offline
    result = await agent.ask(tenant=shop, question="how many orders in each status")
    assert result.offline and result.error is None
    assert result.answer.startswith(OFFLINE_LABEL)
    assert "How many orders are in each status?" in result.answer
    (run,) = result.tool_calls
    assert run.name == "run_sql" and run.error is None and "GROUP BY o.status" in run.input["sql"]
    for status, count in run.output["rows"]:
        assert f"| {status} | {count:,} |" in result.answer  # the numbers come from the data
    rows = await stored_messages(engine, result.session_id)
    assert [r["model"] for r in rows if r["role"] == "assistant"] == ["offline", "offline"]
    assert all(r["cost_usd"] == 0 for r in rows if r["role"] == "assistant")


async def test_offline_gives_a_single_value_in_words(make_agent, shop):
    result = await make_agent(model="offline").ask(
        tenant=shop, question="What share of orders come from guest checkouts?"
    )
    assert "The result is guest orders: " in result.answer and "guest share pct: " in result.answer


async def test_offline_declines_what_needs_a_language_model_and_offers_close_questions(
    make_agent, shop
):
    result = await make_agent(model="offline").ask(
        tenant=shop, question="Write a poem about our best customer's favourite colour"
    )
    assert result.answer.startswith(OFFLINE_LABEL)
    assert "needs a language model" in result.answer
    assert result.tool_calls == [] and result.answer.count("\n- ") == 3


async def test_offline_is_the_default_without_a_key(make_agent, shop, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    agent = make_agent(model=None)
    assert agent.answerer.offline and agent.answerer.settings.effective_model == "offline"
    streamed = [e async for e in agent.stream(tenant=shop, question="Which brands sell best?")]
    tokens = [e.text for e in streamed if e.type == "token"]
    assert len(tokens) > 10  # word by word, like a model
    assert "".join(tokens) == streamed[-1].result.answer
