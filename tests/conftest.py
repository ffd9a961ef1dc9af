"""Shared fixtures: a real PostgreSQL 16 + pgvector for the session, fresh databases on it.

The server is the embedded one (pgserver, started in a temporary directory), or the server
named by BICHAT_DATABASE_URL when that is set: test databases are created on it and dropped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import Settings, load_settings
from app.tools.sql import SqlExecutor
from db import migrate
from db.embedded import start_embedded_server
from db.engine import connect_raw, create_engine, ensure_database
from db.tenants import TenantRecord, create_tenant
from db.urls import plain_url, with_database
from tests.factories import fill_tenant
from tests.openai_server import OpenAIServer
from tests.pg_control import ControlledServer
from tests.standby import Standby, make_standby

MakeDatabase = Callable[[], Awaitable[str]]

# Chainlit fixes its app root (config, translations, public files, uploads) when first
# imported, which a test module may do before any server is created: not the working directory
os.environ.setdefault("CHAINLIT_APP_ROOT", tempfile.mkdtemp(prefix="bichat-chainlit-"))


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Maintenance-database URL of the PostgreSQL server the tests use."""
    external = os.environ.get("BICHAT_DATABASE_URL")
    if external:
        return with_database(plain_url(external), "postgres")
    return start_embedded_server(tmp_path_factory.mktemp("pg"))


@pytest_asyncio.fixture(scope="session")
async def make_database(server_url: str) -> AsyncIterator[MakeDatabase]:
    """Factory: a new empty database on the test server; all are dropped at the end."""
    created: list[str] = []

    async def make() -> str:
        name = f"bichat_test_{uuid.uuid4().hex[:12]}"
        await ensure_database(with_database(server_url, name), timeout_s=10)
        created.append(name)
        return with_database(server_url, name)

    yield make
    connection = await connect_raw(server_url, timeout_s=10)
    try:
        for name in created:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def settings_for(url: str, data_dir: Path) -> Settings:
    return load_settings(database_url=url, data_dir=data_dir)


async def migrated(url: str) -> str:
    """The database at ``url`` migrated to head; its URL."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return url


@pytest_asyncio.fixture(scope="module")
async def database_url(make_database: MakeDatabase) -> str:
    """A database migrated to head, shared by the tests of one module."""
    return await migrated(await make_database())


@pytest.fixture(scope="module")
def controlled() -> Iterator[ControlledServer]:
    """A PostgreSQL server of the module's own, which its tests may stop and restart."""
    server = ControlledServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def model_server() -> Iterator[OpenAIServer]:
    """The local OpenAI-compatible server (tests/openai_server.py), scripted by the test."""
    server = OpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_server(model_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """``model_server``, called by this process's OpenAI clients (``OPENAI_BASE_URL``)."""
    monkeypatch.setenv("OPENAI_BASE_URL", model_server.base_url)
    return model_server


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(database_url, tmp_path_factory.mktemp("data"))


@pytest_asyncio.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose transaction is committed at the end of the test."""
    async with engine.begin() as connection:
        yield connection


@pytest_asyncio.fixture(scope="module")
async def module_executor(
    engine: AsyncEngine, settings: Any, database_url: str
) -> AsyncIterator[SqlExecutor]:
    """The SQL tool's executor on the module's database, for the whole module."""
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=database_url)
    yield executor
    await executor.close()


@pytest_asyncio.fixture
async def make_executor(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., SqlExecutor]]:
    """Factory: the SQL tool's executor on the module's database, with settings ``overrides``
    (``statement_timeout_ms=...``); all are closed at the end."""
    made: list[SqlExecutor] = []

    def make(**overrides: Any) -> SqlExecutor:
        settings = load_settings(database_url=database_url, data_dir=tmp_path, **overrides)
        made.append(SqlExecutor(engine=engine, settings=settings, owner_url=database_url))
        return made[-1]

    yield make
    for executor in made:
        await executor.close()


@pytest.fixture
def unique_slug() -> Iterator[Callable[[str], str]]:
    yield lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def filled_tenant(
    engine: AsyncEngine, settings: Settings, unique_slug: Callable[[str], str]
) -> Callable[[], Awaitable[tuple[TenantRecord, dict[str, int]]]]:
    """Factory: a tenant with rows in every business and application table (committed)."""

    async def make() -> tuple[TenantRecord, dict[str, int]]:
        async with engine.begin() as connection:
            tenant = await create_tenant(
                connection, slug=unique_slug("shop"), name="Test Shop", settings=settings
            )
            counts = await fill_tenant(connection, tenant.id)
        return tenant, counts

    return make


@pytest_asyncio.fixture(scope="session")
async def replicated(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replicated]:
    """A primary of its own (embedded, migrated, two shops with rows) and a hot standby made
    from it with pg_basebackup, streaming. Only the read-replica tests ask for it."""
    root = tmp_path_factory.mktemp("replication")
    server = start_embedded_server(root / "primary")
    primary = with_database(server, "bichat")
    await ensure_database(primary, timeout_s=10)
    engine = create_engine(primary)
    try:
        await migrate.upgrade(engine)
        settings = settings_for(primary, root / "data")
        shops = []
        async with engine.begin() as connection:
            for slug in ("replica-a", "replica-b"):
                tenant = await create_tenant(connection, slug=slug, name=slug, settings=settings)
                await fill_tenant(connection, tenant.id)
                shops.append(tenant)
    finally:
        await engine.dispose()
    standby = make_standby(server, root / "standby")
    try:
        yield Replicated(primary, standby, shops[0], shops[1])
    finally:
        if standby.running():
            standby.stop("immediate")
        shutil.rmtree(standby.socket_dir, ignore_errors=True)


@dataclass
class Replicated:
    primary_url: str
    standby: Standby
    shop: TenantRecord  # the tenant the tests read as
    other: TenantRecord  # whose rows must stay invisible

    @property
    def standby_url(self) -> str:
        return self.standby.url("bichat")
