"""The chat, the admin login and the health checks while the database is away, as users meet
them: a real ``bichat serve`` on a database server of its own that the tests stop and start
(and a scripted OpenAI-compatible model server)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from app.config import load_settings
from db.engine import create_engine
from tests.app.web.conftest import PASSWORD, prepare
from tests.chat_client import ChatClient
from tests.openai_server import OpenAIServer, Reply
from tests.pg_control import ControlledServer
from tests.serve_process import ServeProcess, scripted_model_environment

DRIVER_WORDS = ("DBAPIError", "Errno", "asyncpg", "sqlalchemy", "shutting down", "Traceback")
STATUS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"
RETRY_S = 3.0  # how long the server waits for its database here (BICHAT_DATABASE_RETRY_S)


@pytest.fixture(scope="module")
def model_server() -> Iterator[OpenAIServer]:
    server = OpenAIServer().start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module")
async def shop_url(controlled: ControlledServer, tmp_path_factory) -> str:
    url = await controlled.create_database("web_outage")
    data = tmp_path_factory.mktemp("outage-prep")
    await prepare(url, load_settings(database_url=url, data_dir=data, model="offline"))
    return url


@pytest.fixture(scope="module")
def serve(shop_url, model_server, tmp_path_factory) -> Iterator[ServeProcess]:
    data_dir: Path = tmp_path_factory.mktemp("outage-serve")
    env = scripted_model_environment(
        data_dir,
        database_url=shop_url,
        model_url=model_server.base_url,
        BICHAT_DATABASE_RETRY_S=str(RETRY_S),
    )
    process = ServeProcess(env, cwd=data_dir).start()
    yield process
    process.stop()


@pytest_asyncio.fixture
async def ann(serve) -> AsyncIterator[ChatClient]:
    client = ChatClient(serve.base_url)
    response = await client.login("ann", PASSWORD)
    assert response.status_code == 200, response.text
    yield client
    await client.close()


@pytest_asyncio.fixture
async def store(shop_url):
    engine = create_engine(shop_url)
    yield engine
    await engine.dispose()


def no_driver_text(turn) -> bool:
    shown = json.dumps([data for _, _, data in turn.events], default=str)
    return not any(word in shown for word in DRIVER_WORDS)


async def test_logins_and_readiness_say_unavailable_while_the_database_is_away(serve, controlled):
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=30) as http:
        form = (await http.get("/admin/login")).text  # its CSRF token and cookie
        csrf = re.search(r'name="csrf" value="([^"]*)"', form)
        assert csrf is not None
        await asyncio.to_thread(controlled.stop)
        try:
            chat = await http.post("/chat/login", data={"username": "ann", "password": PASSWORD})
            admin = await http.post(
                "/admin/login",
                data={"username": "ann", "password": PASSWORD, "next": "", "csrf": csrf[1]},
            )
            ready, alive = await http.get("/readyz"), await http.get("/healthz")
        finally:
            await asyncio.to_thread(controlled.start)
        after = await http.post("/chat/login", data={"username": "ann", "password": PASSWORD})
        ready_after = await http.get("/readyz")
    assert (chat.status_code, chat.json()) == (503, {"detail": "unavailable"})
    assert admin.status_code == 503 and "briefly unavailable" in admin.text
    assert "Wrong username or password" not in admin.text
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert alive.status_code == 200
    assert after.status_code == 200 and ready_after.json() == {"status": "ready"}


async def test_a_question_sent_while_the_database_is_away_comes_back_to_its_sender(
    ann, controlled, model_server, store
):
    question = "How many orders did we have while you were away?"

    async def stop() -> None:  # the socket is connected: the page was open before the outage
        await asyncio.to_thread(controlled.stop)

    try:
        turn = await ann.turn(question, timeout_s=60, before_send=stop)
    finally:
        await asyncio.to_thread(controlled.start)
    said = [s["output"] for s in turn.steps if s.get("type") == "assistant_message"]
    assert len(said) == 1 and "not sent" in said[0] and "send it again" in said[0]
    assert turn.of("window_message") == [{"type": "bichat.restore_question", "text": question}]
    assert [d["type"] for d in turn.of("delete_message")] == ["user_message"]
    assert no_driver_text(turn)
    assert model_server.received == []  # nothing was asked of the model
    async with store.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM chat_messages WHERE content = :q"), {"q": question}
        )
    assert stored == 0


async def test_an_answer_is_shown_once_it_is_stored_across_an_outage(
    ann, controlled, model_server, store
):
    """The database goes away while the model thinks and is back within the server's wait:
    the answer the user is shown is the one stored, and nothing else was shown."""
    question = "Orders by status, across an outage?"
    model_server.script(
        Reply(tool_calls=[("run_sql", {"sql": STATUS_SQL})], delay_s=1.5),
        Reply(text="Most orders were delivered."),
    )
    turn_task = asyncio.create_task(ann.turn(question, timeout_s=60))
    for _ in range(200):  # the question is stored: the turn is under way
        async with store.connect() as connection:
            if await connection.scalar(
                text("SELECT count(*) FROM chat_messages WHERE content = :q"), {"q": question}
            ):
                break
        await asyncio.sleep(0.05)
    await asyncio.to_thread(controlled.stop)
    await asyncio.sleep(2.0)  # the model answers meanwhile; its row must wait for the database
    await asyncio.to_thread(controlled.start)
    turn = await turn_task
    assert turn.answer()["output"] == "Most orders were delivered."
    assert no_driver_text(turn)
    async with store.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT role, content, error FROM chat_messages WHERE session_id = "
                    "(SELECT session_id FROM chat_messages WHERE content = :q) ORDER BY id"
                ),
                {"q": question},
            )
        ).all()
    assert [(r.role, r.error) for r in rows] == [
        ("user", None),
        ("assistant", None),
        ("tool", None),
        ("assistant", None),
        ("tool", None),  # the automatic chart of the status breakdown
    ]
    assert rows[-2].content == "Most orders were delivered."
