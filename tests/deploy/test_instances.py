"""Two real ``bichat serve`` processes on one embedded database (one data dir), HAProxy with
deploy/haproxy.cfg in front, the model streaming from the local OpenAI-compatible server:

- HAProxy's config is valid and routes: each browser stays on one instance (its cookie),
  new browsers are spread over both;
- SIGTERM drains: the instance leaves the balancer, its running turn ends and is stored, a
  turn longer than ``BICHAT_DRAIN_TIMEOUT_S`` is stored as interrupted with its question;
- ``kill -9`` of an instance in the middle of streamed turns: its users reconnect through
  the balancer to the other instance, resume their threads with the whole history and go on
  asking there; the cut turn is closed as interrupted (question kept, no half-written
  answer) by the instance they resume on, before they go on."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.turn.writer import CUT_OFF, INTERRUPTED
from tests.balancer import COOKIE
from tests.chat_client import ChatClient, Turn
from tests.fleet import PASSWORD, Fleet
from tests.openai_server import Reply

USERS = ["u1", "u2", "u3", "u4"]
SLOW = "[slow]"  # a question whose answer streams for ~25 s
DRAIN_TIMEOUT_S = 15


def answer_for(body: dict[str, Any]) -> Reply:
    asked = str(body["messages"][-1].get("content") or "")
    if SLOW in asked:
        return Reply(text=" ".join(f"w{i}" for i in range(50)), token_delay_s=0.5)
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
    return await fleet.fetch(
        "SELECT role, content, error FROM chat_messages WHERE session_id = "
        "(SELECT session_id FROM chat_messages WHERE content = :q) "
        "AND id >= (SELECT id FROM chat_messages WHERE content = :q) ORDER BY id",
        q=question,
    )


async def wait_for_tokens(turn_task: asyncio.Task[Turn], turn: list[Turn]) -> None:
    for _ in range(200):
        if turn and turn[0].of("stream_token"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the answer never started streaming")


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
    through = httpx.get(f"{fleet.balancer.base_url}/readyz")
    assert len(through.headers["x-request-id"]) == 36  # HAProxy's id, kept by bichat
    assert httpx.get(f"{fleet.balancer.base_url}/metrics").status_code == 404  # not public
    assert [a - b for a, b in zip(after, counts, strict=True)] == expected


async def pinned_to(fleet: Fleet, index: int, users: list[str]) -> ChatClient:
    """A browser logged in through the balancer that HAProxy pinned to instance ``index``."""
    for user in users:
        for _ in range(4):
            client = await logged_in(fleet, user)
            if instance_of(client) == f"i{index + 1}":
                return client
            await client.close()
    raise AssertionError(f"no browser landed on instance {index + 1}")


async def start_turn(client: ChatClient, question: str, **options: Any) -> asyncio.Task[Turn]:
    task = asyncio.create_task(client.turn(question, timeout_s=120, **options))
    return task


async def streaming(fleet: Fleet, question: str) -> None:
    """Wait until the answer to ``question`` is being streamed (the model was called)."""
    for _ in range(300):
        if any(question in str(r.body) for r in fleet.model.received):
            await asyncio.sleep(1.0)  # a few tokens out
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the model was never asked {question!r}")


async def test_sigterm_drains_running_turns_then_stores_the_rest_as_interrupted(fleet):
    short = await pinned_to(fleet, 1, USERS)
    long = await pinned_to(fleet, 1, USERS)
    quick_q, slow_q = "Drained within time: orders?", f"Drained too long {SLOW}: revenue?"
    quick_answer = " ".join(f"t{i}" for i in range(20))
    fleet.model.script(  # the first answer takes ~10 s, the second ~25 s (> the drain's 15 s)
        Reply(text=quick_answer, token_delay_s=0.5)
    )
    down = fleet.balancer.marked(1, "DOWN")
    try:
        finishing = await start_turn(short, quick_q)
        await streaming(fleet, quick_q)
        cut = await start_turn(long, slow_q)
        await streaming(fleet, slow_q)
        fleet.servers[1].signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        ready = httpx.get(f"{fleet.servers[1].base_url}/readyz")
        assert (ready.status_code, ready.json()["status"]) == (503, "draining")
        await asyncio.to_thread(fleet.balancer.wait_marked, 1, "DOWN", seen=down)
        assert not finishing.done()  # the balancer let go of the instance mid-turn ...
        newcomer = await logged_in(fleet, USERS[0])  # ... and sends new users elsewhere
        try:
            assert instance_of(newcomer) == "i1"
            assert (await newcomer.turn("Anyone there?")).answer()["output"].startswith("Forty")
        finally:
            await newcomer.close()
        done = await finishing  # ... yet the sockets of its running turns stay open
        assert not done.cut and done.answer()["output"] == quick_answer
        await cut  # its socket closes when the instance stops
        fleet.servers[1].wait(DRAIN_TIMEOUT_S + 30)
    finally:
        await short.close()
        await long.close()
        fleet.restart(1)
    assert [(r.role, r.error) for r in await rows_of(fleet, quick_q)] == [
        ("user", None),
        ("assistant", None),
    ]
    assert [(r.role, r.content, r.error) for r in await rows_of(fleet, slow_q)] == [
        ("user", slow_q, None),
        ("assistant", None, INTERRUPTED),
    ]


def resumed_steps(turn: Turn) -> list[tuple[str, str]]:
    (thread,) = turn.of("resume_thread")
    return [(s["type"], s["output"]) for s in thread["steps"] if "message" in s["type"]]


async def test_users_of_a_killed_instance_resume_their_threads_on_the_other(fleet):
    on_a = await pinned_to(fleet, 0, USERS)
    on_b = await pinned_to(fleet, 1, USERS)
    first_q, cut_q = "Which channel sells most?", f"And by month {SLOW}?"
    other_q, follow_q = f"Refunds this week {SLOW}?", "So what about returns?"
    try:
        first = await on_a.turn(first_q)
        thread = first.thread_id
        assert thread is not None
        cut_task = await start_turn(on_a, cut_q, thread_id=thread)
        other_task = await start_turn(on_b, other_q)
        await streaming(fleet, cut_q)
        await streaming(fleet, other_q)
        fleet.servers[0].kill()  # kill -9: nothing of it runs after

        cut, other = await cut_task, await other_task
        assert cut.cut and cut.of("stream_token")  # it was streaming when its socket went
        assert not other.cut and other.answer()["output"].startswith("w0 w1")  # B never noticed

        back = await on_a.turn(None, thread_id=thread)  # the browser reconnects, same cookie
        assert not back.cut and back.of("resume_thread")
        steps = resumed_steps(back)
        assert ("user_message", first_q) in steps and ("user_message", cut_q) in steps
        assert ("assistant_message", "Forty-two orders, said quickly.") in steps
        assert ("assistant_message", CUT_OFF) in steps  # the cut turn, closed as interrupted
        assert not any(kind == "assistant_message" and "w0" in out for kind, out in steps)

        follow = await on_a.turn(follow_q, thread_id=thread)  # and goes on, on instance B
        assert follow.answer()["output"] == "Forty-two orders, said quickly."
    finally:
        await on_a.close()
        await on_b.close()
    (asked,) = [r.body for r in fleet.model.received if follow_q in str(r.body["messages"][-1])]
    history = [str(m.get("content")) for m in asked["messages"]]
    assert first_q in history and "Forty-two orders, said quickly." in history  # whole thread

    rows = await rows_of(fleet, cut_q)  # closed when the thread was resumed, before going on
    assert [(r.role, r.content, r.error) for r in rows] == [
        ("user", cut_q, None),
        ("assistant", CUT_OFF, INTERRUPTED),
        ("user", follow_q, None),
        ("assistant", "Forty-two orders, said quickly.", None),
    ]
