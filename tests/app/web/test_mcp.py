"""The MCP server through the SDK's own client, over both transports: streamable HTTP against
the running web server (``/mcp``, the API token as bearer) and stdio against a subprocess of
``python -m app.cli.main mcp``. Every tool, the resources and prompts, the shop scope, the
guard's refusals, refused tokens and users, and questions stored as turns of ``mcp``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import AnyUrl

from app.tools import registry
from tests.app.web.api_client import make_token, new_user, owner_query, problem_of, revoke
from tests.app.web.test_api import VERIFIED_QUESTION

ROOT = Path(__file__).resolve().parents[3]
CALL_TIMEOUT = timedelta(seconds=60)
CHANNEL_TOOLS = {"ask", "list_metrics"}


@asynccontextmanager
async def http_session(web_server: Any, token: str) -> AsyncIterator[ClientSession]:
    client = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with (
        client,
        streamable_http_client(f"{web_server.base_url}/mcp", http_client=client) as (
            read,
            write,
            _,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def stdio_session(
    web_server: Any, tmp_path: Path, username: str
) -> AsyncIterator[ClientSession]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BICHAT_")},
        "PYTHONPATH": str(ROOT),
        "BICHAT_DATABASE_URL": web_server.database_url,
        "BICHAT_DATA_DIR": str(tmp_path),
        "BICHAT_MODEL": "offline",
    }
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app.cli.main", "mcp", "--tenant", "web-shop", "--user", username],
        env=env,
        cwd=str(tmp_path),
    )
    with (tmp_path / "stderr.txt").open("w") as errors:
        async with (
            stdio_client(server, errlog=errors) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, name: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    result = await session.call_tool(name, arguments, read_timeout_seconds=CALL_TIMEOUT)
    assert result.structuredContent is not None, result
    assert json.loads(result.content[0].text) == result.structuredContent  # type: ignore[union-attr]
    return bool(result.isError), result.structuredContent


async def check_every_tool(session: ClientSession) -> dict[str, Any]:
    """Each tool once, as the shop ``web-shop``; returns the answer of ``ask``."""
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    standalone = {tool.name for tool in registry.standalone_tools()}
    assert set(tools) == standalone | CHANNEL_TOOLS
    assert registry.MAKE_CHART not in tools  # it draws a result of the same turn
    assert (
        tools[registry.QUERY_METRICS].inputSchema
        == registry.BY_NAME[registry.QUERY_METRICS].input.model_json_schema()
    )

    failed, metrics = await call(
        session, registry.QUERY_METRICS, metrics=["revenue"], by=["channel"], period="2026"
    )
    assert not failed and metrics["interpretation"].startswith("Revenue by channel")
    assert metrics["sql"] and metrics["rows"] and "result_id" not in metrics
    failed, counted = await call(session, registry.RUN_SQL, sql="SELECT count(*) AS n FROM orders")
    assert not failed and counted["rows"][0][0] > 0 and counted["sql"]
    failed, refused = await call(session, registry.RUN_SQL, sql="DROP TABLE products")
    assert failed and refused["error"]["code"] == "not_read_only"
    failed, found = await call(session, registry.SEARCH_PRODUCTS, query="tent", limit=3)
    assert not failed and 0 < len(found["results"]) <= 3
    failed, catalogue = await call(session, "list_metrics")
    assert not failed and {"revenue", "units"} <= {m["name"] for m in catalogue["metrics"]}
    failed, rules = await call(session, registry.BUNDLE_RULES, min_lift=2, top=5)
    lifts = [row[rules["columns"].index("lift")] for row in rules["rows"]]
    assert not failed and 0 < len(lifts) <= 5 and all(lift >= 2 for lift in lifts)
    assert "bundle_rules" in rules["sql"] and "lift at least 2" in rules["interpretation"]
    failed, wrong = await call(session, registry.QUERY_METRICS, metrics=["vibes"])
    assert failed and wrong["error"]["code"] == "invalid_input"
    failed, answer = await call(session, "ask", question=VERIFIED_QUESTION)
    assert not failed and "From the verified question" in answer["answer"] and answer["sql"]
    return answer


async def check_resources_and_prompts(session: ClientSession) -> None:
    uris = {str(r.uri) for r in (await session.list_resources()).resources}
    assert uris == {"bichat://schema", "bichat://semantic-model"}
    schema = (await session.read_resource(AnyUrl("bichat://schema"))).contents[0]
    text = schema.text  # type: ignore[union-attr]
    assert "order_items" in text and "  email " not in text and "  phone " not in text
    model = (await session.read_resource(AnyUrl("bichat://semantic-model"))).contents[0]
    assert "revenue" in {m["name"] for m in json.loads(model.text)["metrics"]}  # type: ignore[union-attr]
    prompts = {p.name for p in (await session.list_prompts()).prompts}
    assert {"revenue_overview", "top_products", "bundle_ideas"} <= prompts
    got = await session.get_prompt("top_products", {"period": "2025", "metric": "units"})
    assert "by units over 2025" in got.messages[0].content.text  # type: ignore[union-attr]


async def stored_session(url: str, session_id: str) -> tuple[str, int | None, list[str]]:
    [(channel, token)] = await owner_query(
        url, "SELECT channel, api_token_id FROM chat_sessions WHERE id = :id", id=session_id
    )
    roles = [
        r
        for (r,) in await owner_query(
            url, "SELECT role FROM chat_messages WHERE session_id = :id ORDER BY id", id=session_id
        )
    ]
    return channel, token, roles


async def test_mcp_over_http_has_every_tool_resource_and_prompt(offline):
    token = await make_token(offline.database_url, "web-shop", "bob")
    async with http_session(offline, token.value) as session:
        answer = await check_every_tool(session)
        await check_resources_and_prompts(session)
    assert await stored_session(offline.database_url, answer["conversation_id"]) == (
        "mcp",
        token.id,
        ["user", "tool", "assistant"],
    )


async def test_mcp_over_http_is_scoped_to_the_tokens_shop(web_server):
    eve = await make_token(web_server.database_url, "web-other", "eve")
    async with http_session(web_server, eve.value) as session:
        _, counted = await call(session, registry.RUN_SQL, sql="SELECT count(*) AS n FROM orders")
        _, found = await call(session, registry.BUNDLE_RULES)
        _, revenue = await call(session, registry.QUERY_METRICS, metrics=["units"], by=["product"])
    assert counted["rows"] == [[0]] and found["rows"] == [] and revenue["rows"] == []


def flattened(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in flattened(inner)]
    return [error]


async def test_mcp_over_http_refuses_tokens_at_once(web_server):
    bob = await make_token(web_server.database_url, "web-shop", "bob")
    ann = await make_token(web_server.database_url, "web-shop", "ann")
    async with httpx.AsyncClient(timeout=30) as client:
        anonymous = await client.post(f"{web_server.base_url}/mcp", json={})
    assert (anonymous.status_code, problem_of(anonymous)["code"]) == (401, "token_required")
    with pytest.raises(BaseException) as raised:
        async with http_session(web_server, bob.value) as session:
            failed, _ = await call(session, "list_metrics")
            assert not failed
            await revoke(web_server.database_url, bob)
            await session.call_tool("list_metrics", {}, read_timeout_seconds=timedelta(seconds=10))
    statuses = [
        e.response.status_code
        for e in flattened(raised.value)
        if isinstance(e, httpx.HTTPStatusError)
    ]
    assert statuses == [401]
    other = await make_token(web_server.database_url, "web-shop", "bob")
    session_id = await opened_session(web_server, other)
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    session_headers = {
        "Accept": "application/json, text/event-stream",
        "Mcp-Session-Id": session_id,
    }
    async with httpx.AsyncClient(base_url=web_server.base_url, timeout=30) as client:
        revoked = await client.post("/mcp", json={}, headers=bob.headers)
        stolen = await client.post("/mcp", json=listing, headers=ann.headers | session_headers)
        own = await client.post("/mcp", json=listing, headers=other.headers | session_headers)
    assert (revoked.status_code, problem_of(revoked)["code"]) == (401, "token_revoked")
    assert stolen.status_code == 404  # a session opened with another token is not found
    assert own.status_code == 200, own.text


async def opened_session(web_server: Any, token: Any) -> str:
    """The id of an MCP session the token opens (initialize over plain HTTP)."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{web_server.base_url}/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            },
            headers={**token.headers, "Accept": "application/json, text/event-stream"},
        )
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


async def test_mcp_over_stdio_acts_as_its_user(offline, tmp_path):
    async with stdio_session(offline, tmp_path, "bob") as session:
        answer = await check_every_tool(session)
        await check_resources_and_prompts(session)
    channel, token, roles = await stored_session(offline.database_url, answer["conversation_id"])
    assert (channel, token, roles) == ("mcp", None, ["user", "tool", "assistant"])


async def test_mcp_over_stdio_refuses_a_deactivated_user_at_the_next_call(web_server, tmp_path):
    username = await new_user(web_server.database_url, "web-shop")
    async with stdio_session(web_server, tmp_path, username) as session:
        failed, _ = await call(session, "list_metrics")
        assert not failed
        await owner_query(
            web_server.database_url,
            "UPDATE app_users SET is_active = false WHERE username = :u",
            u=username,
        )
        failed, refused = await call(session, registry.RUN_SQL, sql="SELECT 1")
    assert failed and refused["error"]["code"] == "user_inactive"
