"""A shop's slowest reader queries, from ``pg_stat_statements``.

Every query the SQL tool, search and the semantic layer run for a shop runs as the shop's own
reader role (``tenant_readers``), so the view's rows whose ``userid`` is that role, in this
database, are that shop's queries and no other's. They are read on the owner's connection:
other roles' query texts need a superuser or ``pg_read_all_stats``. The texts are as
``pg_stat_statements`` normalised them (constants replaced by ``$1``, ``$2``...). The
connection's own bookkeeping statements (``BEGIN``, ``SET``...) are left out.

When the statistics cannot be read, ``StatementStatistics.missing`` says why and how to
enable them instead of failing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import BichatError, InvalidInput
from db.reads import read_row

SORTS = {"mean": "mean_exec_time", "total": "total_exec_time"}
DEFAULT_LIMIT = 20
NOT_PRELOADED = "55000"  # object_not_in_prerequisite_state: not in shared_preload_libraries
BOOKKEEPING = (
    r"^\s*(begin|start|commit|rollback|end|abort|set|reset|show|discard|deallocate|"
    r"savepoint|release|prepare transaction)\M"
)
HOW_TO_ENABLE = (
    "On the embedded server, `bash .ci/install` installs it and bichat loads it at the "
    "server's next start. On your own server: install PostgreSQL's contrib modules, add "
    "pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the server, "
    "then run `bichat db init` (which creates the extension in bichat's database)."
)


class StatisticsUnavailable(BichatError):
    """pg_stat_statements cannot be read here; the message says how to enable it."""

    code = "statistics_unavailable"


@dataclass(frozen=True)
class SlowQuery:
    query: str  # normalised by pg_stat_statements
    calls: int
    mean_ms: float
    max_ms: float
    total_ms: float
    rows: int


@dataclass(frozen=True)
class StatementStatistics:
    sort: str
    queries: list[SlowQuery] = field(default_factory=list)
    missing: str | None = None  # why there are none to read, and how to enable them
    since: datetime | None = None  # when the statistics were last reset


def checked_sort(sort: str) -> str:
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}: use {' or '.join(SORTS)}")
    return sort


async def slow_queries(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, sort: str = "mean", limit: int = DEFAULT_LIMIT
) -> StatementStatistics:
    """The shop's reader queries, slowest first (by mean or total time), at most ``limit``."""
    sort = checked_sort(sort)
    missing = await why_unavailable(engine)
    if missing:
        return StatementStatistics(sort=sort, missing=missing)
    schema = await read_extension_schema(engine)
    try:
        return await read_statistics(engine, schema, tenant_id=tenant_id, sort=sort, limit=limit)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != NOT_PRELOADED:
            raise
        return StatementStatistics(
            sort=sort,
            missing="pg_stat_statements is installed but the server did not load it "
            f"(it is not in shared_preload_libraries). {HOW_TO_ENABLE}",
        )


async def why_unavailable(engine: AsyncEngine) -> str | None:
    """None when the view is there and readable; otherwise what is missing."""
    state = await read_row(
        engine,
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'), "
        "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'), "
        "pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), current_user",
        {},
    )
    values: tuple[Any, ...] = tuple(state)
    created, available, may_read, owner = values
    if not available:
        return f"This PostgreSQL server does not have pg_stat_statements. {HOW_TO_ENABLE}"
    if not created:
        return (
            "pg_stat_statements is not created in bichat's database (creating it needs a "
            f"superuser). {HOW_TO_ENABLE}"
        )
    if not may_read:
        return (
            f"bichat's database role {owner} may not read other roles' statistics: "
            f"GRANT pg_read_all_stats TO {owner}."
        )
    return None


async def read_extension_schema(engine: AsyncEngine) -> str:
    row = await read_row(
        engine,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_stat_statements'",
        {},
    )
    return str(row[0])


async def read_statistics(
    engine: AsyncEngine, schema: str, *, tenant_id: uuid.UUID, sort: str, limit: int
) -> StatementStatistics:
    view = f'"{schema}".pg_stat_statements'  # a schema name from pg_namespace
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT s.query, s.calls, s.mean_exec_time, s.max_exec_time, s.total_exec_time, "
                f"s.rows FROM {view} s JOIN pg_roles r ON r.oid = s.userid "
                "JOIN tenant_readers t ON t.role_name = r.rolname AND t.tenant_id = :tenant "
                "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND s.query !~* :bookkeeping "
                f"ORDER BY s.{SORTS[sort]} DESC, s.queryid LIMIT :limit"
            ),
            {"tenant": tenant_id, "bookkeeping": BOOKKEEPING, "limit": limit},
        )
        queries = [SlowQuery(*row) for row in rows]
        since = await connection.scalar(
            text(f'SELECT stats_reset FROM "{schema}".pg_stat_statements_info')
        )
    return StatementStatistics(sort=sort, queries=queries, since=since)
