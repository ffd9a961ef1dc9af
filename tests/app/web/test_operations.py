"""What operators and balancers read: /readyz (ready, draining, schema behind), /metrics in
Prometheus format counting real turns and guard rejections, request ids on every response,
and an API question refused while the process drains."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.web.state import get_state
from tests.app.web.api_client import api, make_token, owner_query, problem_of
from tests.app.web.conftest import PASSWORD
from tests.chat_client import ChatClient

VERIFIED_QUESTION = "What was our total revenue last month?"  # prompts/examples.yaml


def samples(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@contextlib.contextmanager
def draining() -> Iterator[None]:
    drain = get_state().runtime.turns.drain
    drain.draining = True
    try:
        yield
    finally:
        drain.draining = False


def test_readyz_is_ready_at_head_and_503_while_draining(web_server):
    ready = httpx.get(f"{web_server.base_url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    with draining():
        drained = httpx.get(f"{web_server.base_url}/readyz")
        alive = httpx.get(f"{web_server.base_url}/healthz")
    assert drained.status_code == 503 and drained.json()["status"] == "draining"
    assert drained.headers["retry-after"] == "5"
    assert alive.status_code == 200  # alive: a balancer drains it, nobody restarts it


async def test_readyz_says_when_the_schema_is_behind_this_version(web_server):
    url = web_server.database_url
    (head,) = (await owner_query(url, "SELECT version_num FROM alembic_version"))[0]
    await owner_query(url, "UPDATE alembic_version SET version_num = '0001'")
    try:
        behind = httpx.get(f"{web_server.base_url}/readyz")
    finally:
        await owner_query(url, "UPDATE alembic_version SET version_num = :h", h=head)
    assert behind.status_code == 503 and behind.json()["status"] == "migrating"
    assert "bichat db init" in behind.json()["reason"]
    assert httpx.get(f"{web_server.base_url}/readyz").status_code == 200


async def test_metrics_count_a_chat_turn_and_a_guard_rejection(offline):
    before = samples(offline.base_url)
    client = ChatClient(offline.base_url)
    try:
        assert (await client.login("ann", PASSWORD)).status_code == 200
        await client.turn(VERIFIED_QUESTION)
    finally:
        await client.close()
    bob = await make_token(offline.database_url, "web-shop", "bob")
    async with api(offline) as http:
        refused = await http.post("/sql", json={"sql": "DELETE FROM orders"}, headers=bob.headers)
    code = problem_of(refused)["code"]
    after = samples(offline.base_url)
    turned = {"channel": "chat", "path": "engine", "outcome": "answered"}
    assert (
        value(after, "bichat_turns_total", **turned)
        == value(before, "bichat_turns_total", **turned) + 1
    )
    assert value(after, "bichat_turn_seconds_count", path="engine") > value(
        before, "bichat_turn_seconds_count", path="engine"
    )
    assert (
        value(after, "bichat_guard_rejections_total", code=code)
        == value(before, "bichat_guard_rejections_total", code=code) + 1
    )
    assert value(after, "bichat_sql_executions_total", verdict="ok") > value(
        before, "bichat_sql_executions_total", verdict="ok"
    )  # the engine's answer ran its query
    assert ("bichat_reader_pools", frozenset()) in after  # pools read at scrape time
    assert value(after, "bichat_db_pool_connections", state="idle") >= 1
    assert value(after, "bichat_turns_running") == 0


async def test_an_api_question_while_draining_is_refused_with_503_and_not_stored(offline):
    bob = await make_token(offline.database_url, "web-shop", "bob")
    question = "How many orders while draining?"
    with draining():
        async with api(offline) as http:
            refused = await http.post("/ask", json={"question": question}, headers=bob.headers)
    problem = problem_of(refused)
    assert (refused.status_code, problem["code"]) == (503, "draining")
    assert refused.headers["retry-after"] == "1"
    stored = await owner_query(
        offline.database_url, "SELECT 1 FROM chat_messages WHERE content = :q", q=question
    )
    assert stored == []


async def test_a_chat_question_while_draining_is_answered_with_where_to_ask(offline):
    question = "Orders by channel while draining?"
    client = ChatClient(offline.base_url)
    try:
        assert (await client.login("ann", PASSWORD)).status_code == 200
        with draining():
            turn = await client.turn(question)
    finally:
        await client.close()
    assert "restarting" in turn.answer()["output"] and "ask again" in turn.answer()["output"]
    stored = await owner_query(
        offline.database_url, "SELECT 1 FROM chat_messages WHERE content = :q", q=question
    )
    assert stored == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("haproxy-7f3a.12:ab", True), ("bad id with spaces", False), ("x" * 65, False)],
)
def test_every_response_carries_a_request_id(web_server, sent, kept):
    response = httpx.get(f"{web_server.base_url}/healthz", headers={"X-Request-ID": sent})
    echoed = response.headers["x-request-id"]
    assert (echoed == sent) is kept and 1 <= len(echoed) <= 64
