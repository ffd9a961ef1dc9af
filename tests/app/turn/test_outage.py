"""The database away while turns run (its own server, stopped and started for real): a question
that cannot be stored is not answered, a turn outlives a short outage, and rows that could not
be stored when they happened are written once the database is back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import pytest_asyncio
from pydantic import PrivateAttr

from app.errors import DatabaseUnavailable
from app.turn.events import Answered, Failed
from app.turn.runner import STORE_UNAVAILABLE
from tests.app.agent.conftest import stored_messages, user_rows
from tests.conftest import migrated
from tests.pg_control import ControlledServer
from tests.scripted_model import Call, ScriptedChatModel

STATUS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"
DRIVER_WORDS = ("DBAPIError", "Errno", "asyncpg", "sqlalchemy", "shutting down")


@pytest_asyncio.fixture(scope="module")
async def database_url(controlled: ControlledServer) -> str:
    """This module's database lives on a server of its own (the others' stays up)."""
    return await migrated(await controlled.create_database("outage"))


class HeldModel(ScriptedChatModel):
    """A scripted model that runs ``hold`` (a fault: the database stopped...) before a call."""

    _holds: dict[int, Callable[[], Awaitable[None]]] = PrivateAttr(default_factory=dict)

    def hold(self, call: int, action: Callable[[], Awaitable[None]]) -> HeldModel:
        self._holds[call] = action
        return self

    async def _astream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        action = self._holds.pop(self._position, None)
        if action is not None:
            await action()
        async for chunk in super()._astream(*args, **kwargs):
            yield chunk


async def started_after(server: ControlledServer, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await asyncio.to_thread(server.start)


async def test_a_question_that_cannot_be_stored_is_not_answered(
    make_agent, shop, engine, controlled
):
    model = ScriptedChatModel(script=["This answer must never be given."])
    turns = make_agent(model, database_retry_s=1.0)
    await turns.prepare()
    await asyncio.to_thread(controlled.stop)
    try:
        with pytest.raises(DatabaseUnavailable) as raised:
            async for _ in turns.stream(tenant=shop, question="Revenue while the db is down?"):
                pass
    finally:
        await asyncio.to_thread(controlled.start)
    assert model.seen == []  # the model was never asked
    assert not any(word in raised.value.message for word in DRIVER_WORDS)
    assert await user_rows(engine, "Revenue while the db is down?") == 0


async def test_a_turn_outlives_a_short_outage_of_the_database(make_agent, shop, engine, controlled):
    """The database goes away while the model thinks and is back 1.5 s later: the writes
    that found it away waited for it, and the turn ends answered with every row stored."""

    background: list[asyncio.Task[None]] = []

    async def outage() -> None:
        await asyncio.to_thread(controlled.stop)
        background.append(asyncio.create_task(started_after(controlled, 1.5)))

    model = HeldModel(script=[Call("run_sql", {"sql": STATUS_SQL}), "Mostly delivered."])
    turns = make_agent(model.hold(0, outage), database_retry_s=10.0)
    events = [e async for e in turns.stream(tenant=shop, question="Orders by status, outage?")]
    await asyncio.gather(*background)
    assert isinstance(events[-1], Answered) and events[-1].result.error is None
    assert events[-1].result.answer == "Mostly delivered."
    rows = await stored_messages(engine, events[-1].result.session_id)
    assert [(r["role"], r["error"]) for r in rows] == [
        ("user", None),
        ("assistant", None),
        ("tool", None),
        ("assistant", None),
        ("tool", None),  # the automatic chart of the status breakdown
    ]
    assert rows[-2]["id"] == events[-1].result.message_id


async def test_rows_that_could_not_be_stored_are_written_when_the_database_is_back(
    make_agent, shop, engine, controlled
):
    """Away for longer than the turn waits: the turn ends with a plain failure (the answer is
    not shown as if it were saved), and its model call and closing note reach the store once
    the database is back."""
    background: list[asyncio.Task[None]] = []

    async def long_outage() -> None:
        await asyncio.to_thread(controlled.stop)
        background.append(asyncio.create_task(started_after(controlled, 3.0)))

    model = HeldModel(script=["An answer nobody could save."]).hold(0, long_outage)
    turns = make_agent(model, database_retry_s=1.0)
    events = [e async for e in turns.stream(tenant=shop, question="Revenue, long outage?")]
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.result.error == STORE_UNAVAILABLE
    assert "could not be saved" in failed.result.answer
    assert not any(word in failed.result.answer for word in DRIVER_WORDS)
    await asyncio.wait_for(background[0], 30)
    for _ in range(100):  # the waiting rows are written in the background
        rows = await stored_messages(engine, failed.result.session_id)
        if len(rows) == 3:
            break
        await asyncio.sleep(0.2)
    assert [(r["role"], r["content"], r["error"]) for r in rows] == [
        ("user", "Revenue, long outage?", None),
        ("assistant", "An answer nobody could save.", None),
        ("assistant", failed.result.answer, STORE_UNAVAILABLE),
    ]
