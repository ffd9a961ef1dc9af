"""One turn: typed events in order, the store written by the turn's writer alone (the agent
only reports), the answer or the error last, and a turn stopped midway stored as such."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from app.answering.events import AnswerReady, ModelCalled, ToolFinished, ToolStarted
from app.answering.question import Question
from app.turn.events import Answered, ChartShown, Failed, Token
from app.turn.writer import INTERRUPTED
from tests.app.agent.conftest import stored_messages
from tests.scripted_model import Call, ScriptedChatModel

STATUS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"


async def count_messages(engine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM chat_messages")))


async def test_a_turns_events_come_typed_and_in_order(make_agent, shop):
    model = ScriptedChatModel(
        script=[
            Call("run_sql", {"sql": STATUS_SQL}),
            Call("make_chart", {"kind": "bar", "x": "status", "y": ["n"]}),
            "Most orders were delivered.",
        ]
    )
    events = [e async for e in make_agent(model).stream(tenant=shop, question="By status?")]
    kinds = [type(e) for e in events if not isinstance(e, Token)]
    assert kinds == [ToolStarted, ToolFinished, ToolStarted, ToolFinished, ChartShown, Answered]
    assert [e.type for e in events][-1] == "answered"
    (chart,) = [e.chart for e in events if isinstance(e, ChartShown)]
    result = events[-1].result
    assert result.charts == [chart] and list(result.results) == ["r1"]


async def test_the_agent_reports_and_never_writes_the_store(make_agent, shop, engine):
    turns = make_agent(ScriptedChatModel(script=[Call("run_sql", {"sql": STATUS_SQL}), "Done."]))
    await turns.prepare()
    before = await count_messages(engine)
    asked = Question(tenant=shop, session_id=uuid.uuid4(), text="By status?")
    events = [e async for e in turns.answerer.answer(asked)]
    assert await count_messages(engine) == before  # nothing stored: the turn stores
    kinds = [type(e) for e in events if not isinstance(e, Token)]
    assert kinds == [ModelCalled, ToolStarted, ToolFinished, ModelCalled, AnswerReady]
    assert events[-1].text == "Done." and events[-2].call.content == "Done."


async def test_a_failed_provider_ends_the_turn_with_failed_and_the_error_stored_last(
    make_agent, shop, engine
):
    class Broken(ScriptedChatModel):
        async def _astream(self, *args, **kwargs):
            raise ConnectionResetError("the provider hung up")
            yield  # an async generator that fails at once

    events = [e async for e in make_agent(Broken(script=[])).stream(tenant=shop, question="hi")]
    assert isinstance(events[-1], Failed) and events[-1].type == "failed"
    rows = await stored_messages(engine, events[-1].result.session_id)
    assert [r["role"] for r in rows] == ["user", "assistant"]
    assert "the provider hung up" in rows[-1]["error"] == events[-1].result.answer


async def test_a_turn_cancelled_midway_is_stored_as_interrupted(make_agent, shop, engine):
    started = asyncio.Event()

    class Slow(ScriptedChatModel):
        async def _astream(self, *args, **kwargs):
            started.set()
            await asyncio.sleep(60)
            yield  # never reached

    turns = make_agent(Slow(script=[]))

    async def chat() -> None:  # a channel whose client goes away while the model thinks
        async for _ in turns.stream(tenant=shop, question="Will you finish?"):
            pass

    task = asyncio.create_task(chat())
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rows = await stored_messages(engine, await session_of(engine, "Will you finish?"))
    assert [(r["role"], r["error"]) for r in rows] == [("user", None), ("assistant", INTERRUPTED)]


async def test_a_channel_that_stops_reading_leaves_the_turn_interrupted_not_lost(
    make_agent, shop, engine
):
    model = ScriptedChatModel(script=[Call("run_sql", {"sql": STATUS_SQL}), "Done."])
    stream = make_agent(model).stream(tenant=shop, question="Stop after the first call?")
    async for event in stream:
        if isinstance(event, ToolFinished):
            break
    await stream.aclose()
    rows = await stored_messages(engine, await session_of(engine, "Stop after"))
    assert [r["role"] for r in rows] == ["user", "assistant", "tool", "assistant"]
    assert rows[-1]["error"] == INTERRUPTED


async def test_a_finished_turn_read_to_its_end_is_not_marked_interrupted(make_agent, shop, engine):
    result = await make_agent(ScriptedChatModel(script=["Hello."])).ask(tenant=shop, question="Hi")
    rows = await stored_messages(engine, result.session_id)
    assert [r["error"] for r in rows] == [None, None] and rows[-1]["id"] == result.message_id


async def session_of(engine, question_start: str):
    async with engine.connect() as connection:
        return await connection.scalar(
            text("SELECT session_id FROM chat_messages WHERE content LIKE :q"),
            {"q": question_start + "%"},
        )


async def test_a_question_goes_down_the_layers_and_never_back_up(make_agent, shop):
    """Every call made while a turn runs, seen on the call stack: no function of a layer is
    called from a lower one (a callback up), so the question enters each layer once."""
    import sys

    from tests.test_layers import LAYERS, layer_of

    turns = make_agent(ScriptedChatModel(script=[Call("run_sql", {"sql": STATUS_SQL}), "Done."]))
    await turns.prepare()
    entered: set[str] = set()
    upward: list[str] = []

    def ours(frame) -> str | None:
        module = frame.f_globals.get("__name__", "")
        return module if module.split(".")[0] in ("app", "db") else None

    def watch(frame, event, arg) -> None:
        if event != "call" or (callee := ours(frame)) is None:
            return
        entered.add(LAYERS[layer_of(callee)][0])
        caller = frame.f_back
        while caller is not None and ours(caller) is None:
            caller = caller.f_back
        if caller is not None and layer_of(ours(caller)) > layer_of(callee):
            upward.append(
                f"{ours(caller)}.{caller.f_code.co_name} -> {callee}.{frame.f_code.co_name}"
            )

    sys.setprofile(watch)
    try:
        result = await turns.ask(tenant=shop, question="Orders by status?")
    finally:
        sys.setprofile(None)
    assert result.error is None and result.tool_calls[0].error is None
    assert upward == []
    assert {"turn", "answerers", "tools", "guard", "store", "db"} <= entered
