"""A ``bichat serve`` killed (``kill -9``) in the middle of turns: the turns it had in flight are
closed as interrupted when the next one starts, stored, counted as errors in admin and shown in
the resumed thread."""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy import text

from app.config import load_settings
from app.store import review
from app.turn.writer import CUT_OFF, INTERRUPTED
from db.engine import create_engine
from tests.app.web.conftest import PASSWORD, prepare
from tests.chat_client import ChatClient
from tests.openai_server import Reply
from tests.serve_process import ServeProcess, scripted_model_environment

QUESTIONS = ("Revenue last month?", "Top customers?", "Orders by channel?")


async def stored_questions(engine) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT content, session_id FROM chat_messages WHERE role = 'user'")
        )
        return {r.content: str(r.session_id) for r in rows}


async def session_rows(engine, session_id: str) -> list:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text(
                    "SELECT role, content, error FROM chat_messages WHERE session_id = :s "
                    "ORDER BY id"
                ),
                {"s": session_id},
            )
        ).all()


async def test_turns_cut_by_a_killed_server_are_closed_when_the_next_one_starts(
    make_database, model_server, tmp_path
):
    url = await make_database()
    await prepare(url, load_settings(database_url=url, data_dir=tmp_path, model="offline"))
    model_server.script(*[Reply(text="Never heard.", delay_s=60) for _ in QUESTIONS])
    env = scripted_model_environment(tmp_path, database_url=url, model_url=model_server.base_url)
    engine = create_engine(url)
    first = ServeProcess(env, cwd=tmp_path).start()
    clients = [ChatClient(first.base_url) for _ in QUESTIONS]
    try:
        for client in clients:
            assert (await client.login("ann", PASSWORD)).status_code == 200
        asking = [
            asyncio.create_task(c.turn(q, timeout_s=90))
            for c, q in zip(clients, QUESTIONS, strict=True)
        ]
        for _ in range(300):  # every question stored: the turns are in flight
            if set(QUESTIONS) <= set(await stored_questions(engine)):
                break
            await asyncio.sleep(0.1)
        first.signal(signal.SIGKILL)
        first.wait()
        for task in asking:  # their sockets went with the server
            task.cancel()
        await asyncio.gather(*asking, return_exceptions=True)
        sessions = await stored_questions(engine)
        for question in QUESTIONS:  # no answer and no error: cut without a trace
            assert [r.role for r in await session_rows(engine, sessions[question])] == ["user"]

        second = ServeProcess(env, cwd=tmp_path).start()
        try:
            for question in QUESTIONS:
                rows = await session_rows(engine, sessions[question])
                assert [(r.role, r.content, r.error) for r in rows] == [
                    ("user", question, None),
                    ("assistant", CUT_OFF, INTERRUPTED),
                ]
            async with engine.connect() as connection:
                shop = await connection.scalar(
                    text("SELECT id FROM tenants WHERE slug = 'web-shop'")
                )
            with_errors = await review.list_sessions(
                engine, tenant_id=shop, filters=review.parse_filters({"has_error": "yes"})
            )
            assert set(sessions.values()) <= {str(s.id) for s in with_errors.rows}
            reader = ChatClient(second.base_url)
            try:
                assert (await reader.login("ann", PASSWORD)).status_code == 200
                thread = (await reader.thread(sessions[QUESTIONS[0]])).json()
            finally:
                await reader.close()
            shown = [s["output"] for s in thread["steps"] if s["type"] == "assistant_message"]
            assert shown == [CUT_OFF]
        finally:
            second.stop()
    finally:
        first.kill()
        for client in clients:
            await client.close()
        await engine.dispose()
