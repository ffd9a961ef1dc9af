"""Every conversation route Chainlit exposes (threads list, get, rename, delete, share, feedback
upsert and delete, steps over the socket, elements) tried by the owner, another user of the
same shop, a user of another shop and an anonymous client: only the owner's requests change
anything (checked in the database), the others get 401/403/404, nobody gets a 500."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import httpx
import pytest
import socketio

from tests.app.web.conftest import PASSWORD, db_rows
from tests.chat_client import ChatClient

INTRUDERS = ("bob", "eve", None)  # same shop, another shop, anonymous


@dataclass
class Owned:
    """Ann's conversation: its thread, socket session, answer step and stored answer id."""

    thread_id: str
    session_id: str
    answer_step: str
    signed_step: str
    answer_id: int
    follow_up: dict


@dataclass(frozen=True)
class Stored:
    title: str | None
    messages: int
    feedback: tuple[tuple[int, int | None, str | None], ...]


async def stored(url: str, thread_id: str) -> Stored | None:
    head = await db_rows(url, "SELECT title FROM chat_sessions WHERE id = :id", id=thread_id)
    if not head:
        return None
    messages = await db_rows(
        url,
        "SELECT id, feedback, feedback_comment FROM chat_messages WHERE session_id = :id "
        "ORDER BY id",
        id=thread_id,
    )
    feedback = tuple((m.id, m.feedback, m.feedback_comment) for m in messages)
    return Stored(head[0].title, len(messages), feedback)


@pytest.fixture
async def owned(offline, ann) -> Owned:
    turn = await ann.turn("How many orders are in each status?")
    answer = turn.answer()
    rated = await ann.feedback(turn.session_id, answer["id"], 1, "mine")
    assert rated.status_code == 200, rated.text
    thread = (await ann.thread(turn.thread_id)).json()
    run = next(s for s in thread["steps"] if s.get("feedback"))
    return Owned(
        turn.thread_id,
        turn.session_id,
        answer["id"],
        run["id"],
        int(run["feedback"]["id"]),
        turn.of("action")[0],
    )


@pytest.fixture(params=INTRUDERS, ids=lambda name: name or "anonymous")
async def intruder(request, web_server):
    client = ChatClient(web_server.base_url)
    if request.param:
        assert (await client.login(request.param, PASSWORD)).status_code == 200
    yield client
    await client.close()


def refused(response: httpx.Response, client: ChatClient) -> bool:
    """403/404 for a logged-in user, 401 (or 404) for an anonymous one."""
    allowed = (403, 404) if client.cookie else (401, 403, 404)
    return response.status_code in allowed


async def test_others_change_nothing_and_get_refused(web_server, owned, intruder):
    url = web_server.database_url
    before = await stored(url, owned.thread_id)
    assert before is not None and before.feedback
    http = intruder.http
    attempts = {
        "get": await intruder.thread(owned.thread_id),
        "rename": await intruder.rename(owned.thread_id, "taken over"),
        "share": await http.put(
            "/project/thread/share", json={"threadId": owned.thread_id, "isShared": True}
        ),
        "element": await http.get(f"/project/thread/{owned.thread_id}/element/x"),
        "rate live step": await intruder.feedback(owned.session_id, owned.answer_step, 0, "bad"),
        "rate stored step": await intruder.feedback(owned.session_id, owned.signed_step, 0, "x"),
        "clear feedback": await http.request(
            "DELETE", "/feedback", json={"feedbackId": str(owned.answer_id)}
        ),
        "update element": await http.put("/project/element", json=custom_element(owned)),
        "delete element": await http.request(
            "DELETE", "/project/element", json=custom_element(owned)
        ),
        "follow-up in the owner's session": await http.post(
            "/project/action", json={"sessionId": owned.session_id, "action": owned.follow_up}
        ),
        "delete": await intruder.delete(owned.thread_id),
    }
    wrong = {name: (r.status_code, r.text[:80]) for name, r in attempts.items()}
    assert all(refused(r, intruder) for r in attempts.values()), wrong
    listed = await http.post(
        "/project/threads",
        json={"pagination": {"first": 20, "cursor": None}, "filter": {"userId": "1"}},
    )
    if intruder.cookie:
        assert listed.status_code == 200
        assert owned.thread_id not in {t["id"] for t in listed.json()["data"]}
    else:
        assert listed.status_code == 401
    shared = await httpx.AsyncClient(base_url=web_server.base_url).get(
        f"/chat/project/share/{owned.thread_id}"
    )
    assert shared.status_code in (401, 404)  # sharing is off
    assert await stored(url, owned.thread_id) == before


async def test_others_cannot_write_steps_into_the_thread_over_the_socket(
    web_server, owned, intruder
):
    url = web_server.database_url
    before = await stored(url, owned.thread_id)
    with contextlib.suppress(socketio.exceptions.ConnectionError):  # refused at the door
        await intruder.turn("Which brands sell best?", thread_id=owned.thread_id, timeout_s=30)
    assert await stored(url, owned.thread_id) == before


async def test_malformed_ids_are_not_found_not_errors(web_server, owned, ann):
    for feedback_id in ("abc", "", "8.5", "-1", str(2**70)):
        response = await ann.http.request("DELETE", "/feedback", json={"feedbackId": feedback_id})
        assert response.status_code == 404, (feedback_id, response.status_code, response.text)
    for thread_id in ("not-a-uuid", str(uuid.uuid4())):
        for response in (
            await ann.thread(thread_id),
            await ann.rename(thread_id, "x"),
            await ann.delete(thread_id),
        ):
            assert response.status_code == 404, (thread_id, response.text)
    response = await ann.feedback(owned.session_id, "not-a-step", 1, None)
    assert response.status_code == 404, response.text


async def test_the_owner_changes_their_own_thread(web_server, owned, ann):
    url = web_server.database_url
    follow_up = await ann.http.post(
        "/project/action", json={"sessionId": owned.session_id, "action": owned.follow_up}
    )
    assert follow_up.status_code == 200, follow_up.text
    asked = await stored(url, owned.thread_id)
    assert asked is not None and asked.messages > 4  # the follow-up question was answered
    cleared = await ann.http.request(
        "DELETE", "/feedback", json={"feedbackId": str(owned.answer_id)}
    )
    assert cleared.status_code == 200, cleared.text
    after = await stored(url, owned.thread_id)
    assert after is not None and all(f[1] is None for f in after.feedback)
    rated = await ann.feedback(owned.session_id, owned.signed_step, 0, "second thoughts")
    assert rated.status_code == 200, rated.text
    after = await stored(url, owned.thread_id)
    assert after is not None and (owned.answer_id, -1, "second thoughts") in after.feedback
    assert (await ann.rename(owned.thread_id, "Mine")).status_code == 200
    after = await stored(url, owned.thread_id)
    assert after is not None and after.title == "Mine"
    assert (await ann.delete(owned.thread_id)).status_code == 200
    assert await stored(url, owned.thread_id) is None


def custom_element(owned: Owned) -> dict:
    return {
        "sessionId": owned.session_id,
        "element": {
            "id": str(uuid.uuid4()),
            "type": "custom",
            "name": "x",
            "display": "inline",
            "threadId": owned.thread_id,
            "props": {},
        },
    }
