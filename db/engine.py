"""Connecting to PostgreSQL: the owner engine, server checks and clear connection errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.embedded import embedded_owner_url
from db.errors import DatabaseUnavailable, UnsupportedServer
from db.settings import DatabaseSettings
from db.urls import database_name, plain_url, redact, sqlalchemy_url, with_database

MIN_SERVER_VERSION_NUM = 150000
MIN_PGVECTOR = (0, 5, 0)  # HNSW indexes arrived in pgvector 0.5.0
APPLICATION_NAME = "bichat"


@dataclass(frozen=True)
class ServerInfo:
    postgres: str
    version_num: int
    pgvector_available: str | None


def owner_url(settings: DatabaseSettings) -> str:
    """The URL bichat's owner connection uses: the setting, or the embedded server."""
    if settings.database_url:
        return plain_url(settings.database_url)
    return embedded_owner_url(settings.data_dir)


async def connect_raw(
    url: str, *, timeout_s: float, server_settings: dict[str, str] | None = None
) -> asyncpg.Connection:
    """One asyncpg connection, with connection failures turned into ``DatabaseUnavailable``."""
    try:
        return await asyncpg.connect(
            plain_url(url),
            timeout=timeout_s,
            server_settings={"application_name": APPLICATION_NAME, **(server_settings or {})},
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        reason = str(error) or type(error).__name__
        raise DatabaseUnavailable(
            f"cannot connect to {redact(url)}: {reason}. Is the server running and the URL "
            "(BICHAT_DATABASE_URL) right?"
        ) from error


async def ensure_database(url: str, *, timeout_s: float) -> None:
    """Create the database named in ``url`` if it does not exist (embedded first run)."""
    maintenance = await connect_raw(with_database(url, "postgres"), timeout_s=timeout_s)
    try:
        name = database_name(url)
        if not await maintenance.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # Another process may win the race: either error means the database now exists.
            with suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await maintenance.execute(f'CREATE DATABASE "{name}"')
    finally:
        await maintenance.close()


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def check_server(info: ServerInfo, *, url: str) -> None:
    """Raise ``UnsupportedServer`` saying what to install when the server cannot run bichat."""
    if info.version_num < MIN_SERVER_VERSION_NUM:
        raise UnsupportedServer(
            f"PostgreSQL {info.postgres} at {redact(url)} is too old: bichat needs 15 or newer. "
            "Upgrade the server, or unset BICHAT_DATABASE_URL to use the embedded PostgreSQL 16."
        )
    major = info.version_num // 10000
    if info.pgvector_available is None:
        raise UnsupportedServer(
            f"the pgvector extension is not installed on the server at {redact(url)}. Install it "
            f"(Debian/Ubuntu: apt-get install postgresql-{major}-pgvector; other systems: "
            "https://github.com/pgvector/pgvector#installation), or unset BICHAT_DATABASE_URL "
            "to use the embedded server, which includes it."
        )
    if parse_version(info.pgvector_available) < MIN_PGVECTOR:
        raise UnsupportedServer(
            f"pgvector {info.pgvector_available} at {redact(url)} is too old: bichat needs 0.5 or "
            f"newer for HNSW indexes (apt-get install postgresql-{major}-pgvector)."
        )


async def read_server_info(connection: asyncpg.Connection) -> ServerInfo:
    row = await connection.fetchrow(
        "SELECT current_setting('server_version') AS postgres,"
        " current_setting('server_version_num')::int AS version_num,"
        " (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS vector"
    )
    return ServerInfo(row["postgres"], row["version_num"], row["vector"])


async def prepare_server(url: str, *, timeout_s: float, create_database: bool) -> ServerInfo:
    """Connect, check version and pgvector, and (embedded) create the database if missing."""
    if create_database:
        await ensure_database(url, timeout_s=timeout_s)
    connection = await connect_raw(url, timeout_s=timeout_s)
    try:
        info = await read_server_info(connection)
    finally:
        await connection.close()
    check_server(info, url=url)
    return info


def create_engine(url: str, *, timeout_s: float = 5.0) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        connect_args={
            "timeout": timeout_s,
            "server_settings": {"application_name": APPLICATION_NAME},
        },
    )


@asynccontextmanager
async def open_engine(settings: DatabaseSettings) -> AsyncIterator[AsyncEngine]:
    """The owner engine, after checking the server; disposed on exit."""
    url = owner_url(settings)
    await prepare_server(
        url, timeout_s=settings.connect_timeout_s, create_database=settings.embedded
    )
    engine = create_engine(url, timeout_s=settings.connect_timeout_s)
    try:
        yield engine
    finally:
        await engine.dispose()
