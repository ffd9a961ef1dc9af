"""``bichat db init`` and ``bichat db status``: bring a database to head and describe it."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import migrate
from db.engine import open_engine, owner_url
from db.roles import READER_GROUP, sync_reader_roles
from db.settings import DatabaseSettings
from db.urls import redact

STATEMENT_STATISTICS = "pg_stat_statements"  # the admin page of slow reader queries reads it
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseStatus:
    url: str
    embedded: bool
    revision: str | None
    head: str
    postgres: str
    pgvector: str | None
    reader_hardened: bool
    tenants: int

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "up_to_date": self.up_to_date}


async def initialise(engine: AsyncEngine, settings: DatabaseSettings) -> None:
    """Migrate to head and re-apply reader limits. Running it again changes nothing."""
    await migrate.upgrade(engine)
    async with engine.begin() as connection:
        await sync_reader_roles(connection, settings)
        await ensure_statement_statistics(connection)


async def ensure_statement_statistics(connection: AsyncConnection) -> None:
    """Create ``pg_stat_statements`` if the server offers it now and it is missing (migration
    0013 did so at upgrade time; a server may have got it since). An owner that may not create
    it is told so in the log; the admin page says how to enable it."""
    missing = await connection.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = :e) "
            "AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = :e)"
        ),
        {"e": STATEMENT_STATISTICS},
    )
    if not missing:
        return
    savepoint = await connection.begin_nested()
    try:
        await connection.execute(text(f"CREATE EXTENSION IF NOT EXISTS {STATEMENT_STATISTICS}"))
        await savepoint.commit()
    except DBAPIError as error:
        await savepoint.rollback()
        log.warning("%s not created (%s): no query statistics", STATEMENT_STATISTICS, error.orig)


async def _hardened(engine: AsyncEngine) -> bool:
    """True when readers can neither call set_config nor read PII (migration 0002 in force)."""
    query = text(
        "SELECT NOT has_function_privilege(:g, 'pg_catalog.set_config(text,text,boolean)', "
        "'EXECUTE') AND NOT has_column_privilege(:g, 'public.customers', 'email', 'SELECT')"
    )
    async with engine.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = :g"), {"g": READER_GROUP}
        )
        if not exists:
            return False
        return bool(await connection.scalar(query, {"g": READER_GROUP}))


async def read_status(engine: AsyncEngine, settings: DatabaseSettings) -> DatabaseStatus:
    revision = await migrate.current_revision(engine)
    async with engine.connect() as connection:
        postgres = await connection.scalar(text("SELECT current_setting('server_version')"))
        pgvector = await connection.scalar(
            text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        )
        tenants = 0
        if revision is not None:
            tenants = int(await connection.scalar(text("SELECT count(*) FROM tenants")))
    return DatabaseStatus(
        url=redact(owner_url(settings)),
        embedded=settings.embedded,
        revision=revision,
        head=migrate.head_revision(),
        postgres=str(postgres),
        pgvector=pgvector,
        reader_hardened=revision is not None and await _hardened(engine),
        tenants=tenants,
    )


async def init_and_status(settings: DatabaseSettings) -> DatabaseStatus:
    async with open_engine(settings) as engine:
        await initialise(engine, settings)
        return await read_status(engine, settings)


async def status(settings: DatabaseSettings) -> DatabaseStatus:
    async with open_engine(settings) as engine:
        return await read_status(engine, settings)
