"""Dashboards and their tiles (pinned answers), every function scoped by tenant and user.

A user has one dashboard (made at their first pin). Its owner pins, removes and shares;
when shared, every active user of the same shop may view it, read-only. Nothing here runs a
tile's query: ``app.dashboards`` does, through the guard, at every view. The tile's last
result is cached on its row (``result``, the SQL it ran, ``refreshed_at``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import NotFound

MAX_TITLE_CHARS = 300


@dataclass(frozen=True)
class Viewer:
    """Who looks: a user of a shop (read again from the database at the channel's edge)."""

    tenant_id: uuid.UUID
    user_id: int


@dataclass
class DashboardRow:
    id: int
    user_id: int
    owner: str  # the owner's username
    title: str
    shared: bool
    created_at: datetime

    def owned_by(self, viewer: Viewer) -> bool:
        return self.user_id == viewer.user_id


@dataclass
class TileRow:
    id: int
    dashboard_id: int
    title: str
    kind: str  # metrics | sql
    query: dict[str, Any] | None
    sql: str | None
    chart: dict[str, Any] | None
    source_message_id: int | None
    created_at: datetime
    result: dict[str, Any] | None
    result_sql: str | None
    refreshed_at: datetime | None


@dataclass
class TurnCall:
    """A finished tool call of the turn an answer closes (what a pin is made from)."""

    name: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None


@dataclass
class AnsweredTurn:
    question: str
    answer_id: int
    calls: list[TurnCall]


DASHBOARD_COLUMNS = (
    "d.id, d.user_id, u.username AS owner, d.title, d.shared, d.created_at "
    "FROM dashboards d JOIN app_users u ON u.id = d.user_id"
)
TILE_COLUMNS = (
    "t.id, t.dashboard_id, t.title, t.kind, t.query, t.sql, t.chart, t.source_message_id, "
    "t.created_at, t.result, t.result_sql, t.refreshed_at"
)
VISIBLE = "d.tenant_id = :tenant AND (d.user_id = :user OR d.shared) AND u.is_active"

OWN_DASHBOARD = text(
    f"SELECT {DASHBOARD_COLUMNS} WHERE d.tenant_id = :tenant AND d.user_id = :user"
)
VISIBLE_DASHBOARD = text(f"SELECT {DASHBOARD_COLUMNS} WHERE d.id = :id AND {VISIBLE}")
SHARED_WITH = text(
    f"SELECT {DASHBOARD_COLUMNS} WHERE d.tenant_id = :tenant AND d.shared AND d.user_id <> :user "
    "AND u.is_active ORDER BY u.username"
)
ENSURE_DASHBOARD = text(
    "INSERT INTO dashboards (tenant_id, user_id) VALUES (:tenant, :user) "
    "ON CONFLICT (tenant_id, user_id) DO NOTHING"
)
TILES_OF = text(
    f"SELECT {TILE_COLUMNS} FROM dashboard_tiles t WHERE t.tenant_id = :tenant "
    "AND t.dashboard_id = :dashboard ORDER BY t.id"
)
VISIBLE_TILE = text(
    f"SELECT {TILE_COLUMNS} FROM dashboard_tiles t JOIN dashboards d ON d.id = t.dashboard_id "
    f"JOIN app_users u ON u.id = d.user_id WHERE t.id = :id AND t.tenant_id = :tenant AND {VISIBLE}"
)
ADD_TILE = text(
    "INSERT INTO dashboard_tiles (tenant_id, dashboard_id, title, kind, query, sql, chart, "
    "source_message_id) SELECT :tenant, d.id, :title, :kind, :query, :sql, :chart, :message "
    "FROM dashboards d WHERE d.tenant_id = :tenant AND d.user_id = :user RETURNING id"
).bindparams(bindparam("query", type_=JSONB), bindparam("chart", type_=JSONB))
REMOVE_TILE = text(
    "DELETE FROM dashboard_tiles t USING dashboards d WHERE t.id = :id AND t.tenant_id = :tenant "
    "AND d.id = t.dashboard_id AND d.user_id = :user RETURNING t.id"
)
SHARE = text(
    "UPDATE dashboards SET shared = :shared WHERE tenant_id = :tenant AND user_id = :user "
    "RETURNING id"
)
CACHE = text(
    "UPDATE dashboard_tiles SET result = :result, result_sql = :sql, refreshed_at = now() "
    "WHERE id = :id AND tenant_id = :tenant RETURNING refreshed_at"
).bindparams(bindparam("result", type_=JSONB))
ANSWER_TURN = text("""
SELECT a.id, q.content AS question FROM chat_messages a
JOIN chat_sessions s ON s.id = a.session_id
CROSS JOIN LATERAL (
  SELECT u.id, u.content FROM chat_messages u
  WHERE u.session_id = a.session_id AND u.role = 'user' AND u.id < a.id
  ORDER BY u.id DESC LIMIT 1) q
WHERE a.id = :id AND a.role = 'assistant' AND a.tenant_id = :tenant AND s.user_id = :user
""")
TURN_CALLS = text(
    "SELECT t.tool_name, t.tool_input, t.tool_output, t.error FROM chat_messages t "
    "JOIN chat_messages a ON a.session_id = t.session_id WHERE a.id = :answer "
    "AND t.role = 'tool' AND t.id > :question_id AND t.id < a.id ORDER BY t.id"
)
QUESTION_ID = text(
    "SELECT max(u.id) FROM chat_messages u JOIN chat_messages a ON a.session_id = u.session_id "
    "WHERE a.id = :answer AND u.role = 'user' AND u.id < a.id"
)
IS_VERIFIED = text(
    "SELECT EXISTS (SELECT 1 FROM verified_queries WHERE is_active "
    "AND (tenant_id = :tenant OR tenant_id IS NULL) "
    "AND btrim(rtrim(btrim(sql), ';')) = btrim(rtrim(btrim(:sql), ';')))"
)


def params(viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {"tenant": viewer.tenant_id, "user": viewer.user_id, **more}


async def own_dashboard(engine: AsyncEngine, viewer: Viewer) -> DashboardRow | None:
    async with engine.connect() as connection:
        row = (await connection.execute(OWN_DASHBOARD, params(viewer))).mappings().first()
    return DashboardRow(**row) if row else None


async def visible_dashboard(
    engine: AsyncEngine, viewer: Viewer, dashboard_id: int
) -> DashboardRow | None:
    """The dashboard if the viewer owns it or it is shared in their shop; else None."""
    async with engine.connect() as connection:
        found = await connection.execute(VISIBLE_DASHBOARD, params(viewer, id=dashboard_id))
        row = found.mappings().first()
    return DashboardRow(**row) if row else None


async def shared_with(engine: AsyncEngine, viewer: Viewer) -> list[DashboardRow]:
    """Other users' dashboards shared in the viewer's shop."""
    async with engine.connect() as connection:
        rows = (await connection.execute(SHARED_WITH, params(viewer))).mappings().all()
    return [DashboardRow(**row) for row in rows]


async def tiles_of(engine: AsyncEngine, viewer: Viewer, dashboard_id: int) -> list[TileRow]:
    """The tiles of a dashboard the viewer may see (none otherwise)."""
    if await visible_dashboard(engine, viewer, dashboard_id) is None:
        return []
    async with engine.connect() as connection:
        found = await connection.execute(
            TILES_OF, {"tenant": viewer.tenant_id, "dashboard": dashboard_id}
        )
        return [TileRow(**row) for row in found.mappings().all()]


async def visible_tile(engine: AsyncEngine, viewer: Viewer, tile_id: int) -> TileRow | None:
    async with engine.connect() as connection:
        row = (
            (await connection.execute(VISIBLE_TILE, params(viewer, id=tile_id))).mappings().first()
        )
    return TileRow(**row) if row else None


async def add_tile(
    engine: AsyncEngine,
    viewer: Viewer,
    *,
    title: str,
    kind: str,
    query: dict[str, Any] | None = None,
    sql: str | None = None,
    chart: dict[str, Any] | None = None,
    message_id: int | None = None,
) -> int:
    """Pin a tile to the viewer's own dashboard (made if they have none); its id."""
    async with engine.begin() as connection:
        await connection.execute(ENSURE_DASHBOARD, params(viewer))
        values = dict(title=title[:MAX_TITLE_CHARS], kind=kind, query=query, sql=sql, chart=chart)
        tile_id = await connection.scalar(ADD_TILE, params(viewer, message=message_id, **values))
    return int(tile_id)


async def remove_tile(engine: AsyncEngine, viewer: Viewer, tile_id: int) -> None:
    """Unpin a tile of the viewer's own dashboard; ``NotFound`` for any other tile."""
    async with engine.begin() as connection:
        removed = await connection.scalar(REMOVE_TILE, params(viewer, id=tile_id))
    if removed is None:
        raise NotFound(f"no tile {tile_id} on your dashboard", code="unknown_tile")


async def share_dashboard(engine: AsyncEngine, viewer: Viewer, *, shared: bool) -> None:
    async with engine.begin() as connection:
        await connection.execute(ENSURE_DASHBOARD, params(viewer))
        await connection.execute(SHARE, params(viewer, shared=shared))


async def cache_result(
    engine: AsyncEngine, tenant_id: uuid.UUID, tile_id: int, *, sql: str, result: dict[str, Any]
) -> datetime | None:
    """Keep a tile's fresh result with the SQL it ran; when it was stored."""
    async with engine.begin() as connection:
        stamp = await connection.scalar(
            CACHE, {"tenant": tenant_id, "id": tile_id, "sql": sql, "result": result}
        )
    return stamp if isinstance(stamp, datetime) else None


async def answered_turn(engine: AsyncEngine, viewer: Viewer, message_id: int) -> AnsweredTurn:
    """The question and tool calls of the turn whose answer is ``message_id``, in one of the
    viewer's own conversations; ``NotFound`` otherwise."""
    async with engine.connect() as connection:
        answer = (await connection.execute(ANSWER_TURN, params(viewer, id=message_id))).first()
        if answer is None:
            raise NotFound(f"no answer {message_id} of yours", code="unknown_answer")
        question_id = await connection.scalar(QUESTION_ID, {"answer": message_id})
        found = await connection.execute(
            TURN_CALLS, {"answer": message_id, "question_id": question_id}
        )
        calls = [TurnCall(r[0], r[1] or {}, r[2], r[3]) for r in found.all()]
    return AnsweredTurn(str(answer.question), message_id, calls)


async def is_verified_sql(engine: AsyncEngine, tenant_id: uuid.UUID, sql: str) -> bool:
    """Whether ``sql`` is an active verified query of the shop (or the shared library)."""
    async with engine.connect() as connection:
        return bool(await connection.scalar(IS_VERIFIED, {"tenant": tenant_id, "sql": sql}))
