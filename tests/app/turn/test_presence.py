"""Instances and their open turns: a turn left open by a process that is gone is closed as
interrupted by the next process to look; a live instance's turns never are, whether its lock
is held, its process runs on this host, or its heartbeat is fresh."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest
from sqlalchemy import text

from app.store.conversations import create_session, session_totals
from app.turn import presence as presence_module
from app.turn.presence import Presence
from app.turn.writer import CUT_OFF, INTERRUPTED, TurnWriter
from tests.app.agent.conftest import stored_messages


@pytest.fixture
async def presences(engine, database_url):
    started: list[Presence] = []

    async def start() -> Presence:
        started.append(await Presence(engine, database_url).start())
        return started[-1]

    yield start
    for presence in started:
        await presence.close()


async def open_turn(engine, tenant, instance_id: int, question: str) -> TurnWriter:
    session = await create_session(engine, tenant_id=tenant.id, user_id=None, title=question)
    writer = TurnWriter(engine, tenant_id=tenant.id, session_id=session, instance_id=instance_id)
    await writer.question(question)
    return writer


async def open_turns(engine) -> set[int]:
    async with engine.connect() as connection:
        return set(await connection.scalars(text("SELECT question_id FROM open_turns")))


async def set_instance(engine, instance_id: int, **values) -> None:
    assignments = ", ".join(f"{name} = {value}" for name, value in values.items())
    async with engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE app_instances SET {assignments} WHERE id = :i"), {"i": instance_id}
        )


def a_finished_process() -> tuple[int, float]:
    """The pid and start time of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    created = psutil.Process(child.pid).create_time()
    child.wait()
    return child.pid, created


async def test_a_turn_opens_with_its_question_and_closes_with_its_last_row(
    engine, filled_tenant, presences
):
    tenant, _ = await filled_tenant()
    me = await presences()
    writer = await open_turn(engine, tenant, me.instance_id, "Open, then closed?")
    assert writer.question_id in await open_turns(engine)
    await writer.close(error="turn_limit", content="Stopped.")
    assert writer.question_id not in await open_turns(engine)


async def test_a_live_instances_open_turns_are_never_closed_by_another(
    engine, filled_tenant, presences
):
    tenant, _ = await filled_tenant()
    first = await presences()
    writer = await open_turn(engine, tenant, first.instance_id, "Still being answered?")
    await presences()  # another instance starts and sweeps: the first holds its lock
    await first.connection.close()  # its lock is free now, but its process runs (this one)
    assert await (await presences()).sweep() == 0
    await set_instance(engine, first.instance_id, hostname="'elsewhere'")  # on another host,
    assert await (await presences()).sweep() == 0  # with a fresh heartbeat
    assert writer.question_id in await open_turns(engine)
    rows = await stored_messages(engine, writer.session_id)
    assert [r["role"] for r in rows] == ["user"]


async def test_the_open_turns_of_a_process_that_is_gone_are_closed_as_interrupted(
    engine, filled_tenant, presences
):
    tenant, _ = await filled_tenant()
    dead = await presences()
    writers = [await open_turn(engine, tenant, dead.instance_id, f"Cut off {n}?") for n in (1, 2)]
    pid, created = a_finished_process()
    await dead.connection.close()  # the process is gone, and with it its lock
    await set_instance(engine, dead.instance_id, pid=pid, process_started_at=created)
    await presences()  # the next process to start closes them
    for writer in writers:
        rows = await stored_messages(engine, writer.session_id)
        assert [(r["role"], r["error"], r["content"]) for r in rows][1:] == [
            ("assistant", INTERRUPTED, CUT_OFF)
        ]
        assert (await session_totals(engine, session_id=writer.session_id)).errors == 1
    assert not {w.question_id for w in writers} & await open_turns(engine)
    async with engine.connect() as connection:
        left = await connection.scalar(
            text("SELECT count(*) FROM app_instances WHERE id = :i"), {"i": dead.instance_id}
        )
    assert left == 0


async def test_an_instance_on_another_host_is_gone_once_its_heartbeat_is_stale(
    engine, filled_tenant, presences, monkeypatch
):
    monkeypatch.setattr(presence_module, "RESTART_GRACE_S", 0.0)  # the test server is young
    tenant, _ = await filled_tenant()
    far = await presences()
    writer = await open_turn(engine, tenant, far.instance_id, "Far away and silent?")
    await far.connection.close()
    await set_instance(
        engine, far.instance_id, hostname="'elsewhere'", seen_at="now() - interval '2 minutes'"
    )
    await presences()
    rows = await stored_messages(engine, writer.session_id)
    assert rows[-1]["error"] == INTERRUPTED


async def test_showing_a_conversation_closes_at_once_the_turn_a_dead_instance_left_open(
    engine, filled_tenant, presences
):
    tenant, _ = await filled_tenant()
    here, alive, dead = await presences(), await presences(), await presences()
    living = await open_turn(engine, tenant, alive.instance_id, "Still answering?")
    cut = await open_turn(engine, tenant, dead.instance_id, "Cut off mid-answer?")
    assert await here.settle(living.session_id) == 0  # their instances live: left alone
    assert await here.settle(cut.session_id) == 0
    pid, created = a_finished_process()
    await dead.connection.close()
    await set_instance(engine, dead.instance_id, pid=pid, process_started_at=created)
    assert await here.settle(cut.session_id) == 1  # not at the next sweep: now
    rows = await stored_messages(engine, cut.session_id)
    assert [(r["role"], r["error"]) for r in rows] == [("user", None), ("assistant", INTERRUPTED)]
    assert [r["role"] for r in await stored_messages(engine, living.session_id)] == ["user"]
