"""Scratch databases for benchmarks: the server named by BICHAT_DATABASE_URL, or an embedded
one in a temporary directory; each benchmark creates its own database and drops it."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.embedded import start_embedded_server
from db.engine import connect_raw, create_engine, ensure_database
from db.urls import database_name, plain_url, with_database


def scratch_server() -> str:
    """Maintenance-database URL of the server to benchmark on."""
    external = os.environ.get("BICHAT_DATABASE_URL")
    if external:
        return with_database(plain_url(external), "postgres")
    return start_embedded_server(Path(tempfile.mkdtemp(prefix="bichat-bench-")))


async def create_database(server: str) -> str:
    url = with_database(server, f"bichat_bench_{uuid.uuid4().hex[:8]}")
    await ensure_database(url, timeout_s=10)
    return url


async def drop_database(server: str, url: str) -> None:
    connection = await connect_raw(server, timeout_s=10)
    try:
        await connection.execute(f'DROP DATABASE "{database_name(url)}" WITH (FORCE)')
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_database(server: str | None = None) -> AsyncIterator[str]:
    """A new database on ``server`` (by default the scratch server), dropped when the block
    ends."""
    server = server or scratch_server()
    url = await create_database(server)
    try:
        yield url
    finally:
        await drop_database(server, url)


@asynccontextmanager
async def migrated_scratch(server: str | None = None) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A scratch database with bichat's schema, and an owner engine on it."""
    async with scratch_database(server) as url:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
            yield url, engine
        finally:
            await engine.dispose()
