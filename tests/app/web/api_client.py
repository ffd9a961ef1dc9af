"""Helpers of the REST API and MCP tests: personal tokens made through the store against the
web server's database, users to deactivate, and SQL run as the owner to check the answers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from app.store.tokens import create_token, revoke_token
from db.engine import create_engine
from db.tenants import get_tenant
from db.users import create_user, user_id_for

PASSWORD = "test-password-1"


@dataclass
class Token:
    id: int
    value: str
    tenant_id: uuid.UUID
    username: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


async def owner_query(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def make_token(url: str, slug: str, username: str, **options: Any) -> Token:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tenant = await get_tenant(connection, slug)
            user_id = await user_id_for(connection, username=username, tenant_id=tenant.id)
        record, value = await create_token(
            engine, tenant_id=tenant.id, user_id=user_id, name="test", **options
        )
        return Token(record.id, value, tenant.id, username)
    finally:
        await engine.dispose()


async def revoke(url: str, token: Token) -> None:
    engine = create_engine(url)
    try:
        await revoke_token(engine, tenant_id=token.tenant_id, token_id=token.id)
    finally:
        await engine.dispose()


async def new_user(url: str, slug: str, *, settings: Any = None) -> str:
    """A fresh analyst of the shop (to deactivate without touching the shared users)."""
    username = f"api-{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await create_user(
                connection, username=username, tenant_slug=slug, password=PASSWORD, admin=False
            )
    finally:
        await engine.dispose()
    return username


def api(web_server: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{web_server.base_url}/api/v1", timeout=60)


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem details of an error response (checked to be problem+json)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert body["status"] == response.status_code
    return dict(body)


def server_sent_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events
