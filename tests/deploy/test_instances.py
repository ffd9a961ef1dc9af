"""Two real ``bichat serve`` processes on one embedded database (one data dir), HAProxy with
deploy/haproxy.cfg in front, the model streaming from the local OpenAI-compatible server:

- HAProxy's config is valid and routes: each browser stays on one instance (its cookie),
  new browsers are spread over both;
- SIGTERM drains: the instance leaves the balancer, its running turn ends and is stored, a
  turn longer than ``BICHAT_DRAIN_TIMEOUT_S`` is stored as interrupted with its question;
- ``kill -9`` of an instance in the middle of streamed turns: its users reconnect through
  the balancer to the other instance, resume their threads with the whole history and go on
  asking there; the cut turns keep their question and no half-written answer."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from db.engine import create_engine
from tests.balancer import COOKIE, check_config
from tests.chat_client import ChatClient, Turn
from tests.fleet import PASSWORD, Fleet
from tests.openai_server import Reply

USERS = ["u1", "u2", "u3", "u4"]
SLOW = "[slow]"  # a question whose answer streams for ~12 s
DRAIN_TIMEOUT_S = 6
PRESENCE = importlib.util.find_spec("app.turn.presence") is not None


def answer_for(body: dict[str, Any]) -> Reply:
    asked = str(body["messages"][-1].get("content") or "")
    if SLOW in asked:
        return Reply(text=" ".join(f"w{i}" for i in range(24)), token_delay_s=0.5)
    return Reply(text="Forty-two orders, said quickly.", token_delay_s=0.02)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    fleet = Fleet(
        root,
        users=USERS,
        responder=answer_for,
        settings={"BICHAT_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S)},
    )
    try:
        yield fleet.start()
    finally:
        fleet.stop()


async def logged_in(fleet: Fleet, username: str) -> ChatClient:
    client = ChatClient(fleet.balancer.base_url)
    assert (await client.login(username, PASSWORD)).status_code == 200
    return client


def instance_of(client: ChatClient) -> str:
    """The instance HAProxy pinned this browser to (i1, i2: deploy/haproxy.cfg)."""
    return str(client.http.cookies[COOKIE])


def turns_answered(base_url: str) -> float:
    body = httpx.get(f"{base_url}/metrics").text
    return sum(
        s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "bichat_turns_total" and s.labels.get("outcome") == "answered"
    )


async def rows_of(fleet: Fleet, question: str) -> list[Any]:
    """The stored rows of the session holding ``question``, from it on."""
    engine = create_engine(fleet.database_url())
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text(
                    "SELECT role, content, error FROM chat_messages WHERE session_id = "
                    "(SELECT session_id FROM chat_messages WHERE content = :q) "
                    "AND id >= (SELECT id FROM chat_messages WHERE content = :q) ORDER BY id"
                ),
                {"q": question},
            )
            return list(found)
    finally:
        await engine.dispose()


async def wait_for_tokens(turn_task: asyncio.Task[Turn], turn: list[Turn]) -> None:
    for _ in range(200):
        if turn and turn[0].of("stream_token"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the answer never started streaming")


def test_the_shipped_haproxy_config_is_valid():
    checked = check_config()
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_each_browser_stays_on_its_instance_and_browsers_are_spread(fleet):
    clients = [await logged_in(fleet, user) for user in USERS]
    try:
        pinned = [instance_of(client) for client in clients]
        assert set(pinned) == {"i1", "i2"}  # round robin for new browsers
        counts = [turns_answered(s.base_url) for s in fleet.servers]
        for client in clients:
            for n in range(2):
                turn = await client.turn(f"Orders today, question {n}?")
                assert turn.answer()["output"] == "Forty-two orders, said quickly."
        after = [turns_answered(s.base_url) for s in fleet.servers]
    finally:
        for client in clients:
            await client.close()
    expected = [2 * pinned.count(f"i{i + 1}") for i in range(2)]
    assert [a - b for a, b in zip(after, counts, strict=True)] == expected
