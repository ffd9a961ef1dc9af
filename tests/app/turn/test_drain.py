"""Draining a process (SIGTERM): new turns are refused before anything is stored, running
turns finish within the drain's time, the rest are stored as interrupted with their question."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.turn.drain import ServerDraining
from app.turn.events import Answered, Token
from app.turn.writer import INTERRUPTED
from tests.app.agent.conftest import stored_messages, user_rows
from tests.scripted_model import ScriptedChatModel


class Slow(ScriptedChatModel):
    """Answers after ``delay_s`` (a model that takes its time), streaming one token first."""

    delay_s: float = 0.0

    async def _astream(self, *args, **kwargs):
        await asyncio.sleep(self.delay_s)
        async for chunk in super()._astream(*args, **kwargs):
            yield chunk


async def run_turn(turns, shop, question: str) -> list:
    return [event async for event in turns.stream(tenant=shop, question=question)]


async def test_a_turn_that_ends_within_the_drain_time_is_answered(make_agent, shop, engine):
    turns = make_agent(Slow(script=["Forty-two orders."], delay_s=1.0))
    asking = asyncio.create_task(run_turn(turns, shop, "Orders today, drained slowly?"))
    await asyncio.sleep(0.5)
    assert await turns.drain.drain(timeout_s=30) == 0  # none had to be cut
    events = await asking
    assert isinstance(events[-1], Answered) and events[-1].result.answer == "Forty-two orders."
    rows = await stored_messages(engine, events[-1].result.session_id)
    assert [(r["role"], r["error"]) for r in rows][-1] == ("assistant", None)


async def test_a_turn_longer_than_the_drain_time_is_stored_as_interrupted(make_agent, shop, engine):
    turns = make_agent(Slow(script=["Too late."], delay_s=60))
    question = "Revenue, drained too long?"
    asking = asyncio.create_task(run_turn(turns, shop, question))
    for _ in range(100):  # the question is stored: the turn runs
        if await user_rows(engine, question):
            break
        await asyncio.sleep(0.1)
    assert await turns.drain.drain(timeout_s=0.5) == 1
    with pytest.raises(asyncio.CancelledError):
        await asking
    async with engine.connect() as connection:
        session = await connection.scalar(
            text("SELECT session_id FROM chat_messages WHERE content = :q"), {"q": question}
        )
    rows = await stored_messages(engine, session)
    assert [(r["role"], r["content"], r["error"]) for r in rows] == [
        ("user", question, None),
        ("assistant", None, INTERRUPTED),
    ]


async def test_a_draining_process_refuses_new_turns_and_stores_nothing(make_agent, shop, engine):
    turns = make_agent(Slow(script=["Never."]))
    await turns.drain.drain(timeout_s=0)
    question = "Asked while draining?"
    with pytest.raises(ServerDraining) as refused:
        await run_turn(turns, shop, question)
    assert refused.value.code == "draining" and "ask" in refused.value.message.lower()
    assert await user_rows(engine, question) == 0


async def test_tokens_reach_the_channel_during_the_drain(make_agent, shop):
    turns = make_agent(Slow(script=["Streaming on."], delay_s=0.3))
    asking = asyncio.create_task(run_turn(turns, shop, "Still streaming?"))
    await asyncio.sleep(0.1)
    await turns.drain.drain(timeout_s=30)
    assert "".join(e.text for e in await asking if isinstance(e, Token)) == "Streaming on."
