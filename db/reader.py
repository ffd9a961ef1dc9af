"""Connecting as a tenant's reader role: the only way the SQL tool and product search read data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import connect_raw
from db.errors import NotFound
from db.roles import reader_session_settings
from db.settings import DatabaseSettings
from db.urls import with_credentials

READER_APPLICATION = "bichat-reader"  # application_name of pooled reader connections


@dataclass(frozen=True)
class ReaderLogin:
    tenant_id: uuid.UUID
    role: str
    password: str


async def reader_login(connection: AsyncConnection, tenant_id: uuid.UUID) -> ReaderLogin:
    row = (
        await connection.execute(
            text("SELECT role_name, password FROM tenant_readers WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"tenant {tenant_id} has no reader role; run `bichat db init` to repair",
            code="no_reader_role",
        )
    return ReaderLogin(tenant_id, row.role_name, row.password)


def reader_url(
    settings: DatabaseSettings, *, owner_url: str, login: ReaderLogin, replica: bool = True
) -> str:
    """Where the tenant's reader connects: the replica URL if set (and ``replica``), else the
    owner's server (the primary)."""
    base = (settings.reader_database_url if replica else None) or owner_url
    return with_credentials(base, user=login.role, password=login.password)


def prepare_reader_connection(connection: asyncpg.Connection) -> None:
    """Readers run with jit off and may not call set_config; asyncpg's type introspection
    (on the first array or vector result) would call set_config('jit', ...) unless told
    that there is no JIT to switch off."""
    connection._server_caps = connection._server_caps._replace(jit=False)


async def connect_reader(
    settings: DatabaseSettings, *, owner_url: str, login: ReaderLogin
) -> asyncpg.Connection:
    url = reader_url(settings, owner_url=owner_url, login=login)
    connection = await connect_raw(
        url, timeout_s=settings.connect_timeout_s, server_settings=reader_session_settings(settings)
    )
    prepare_reader_connection(connection)
    return connection


async def init_reader(connection: asyncpg.Connection) -> None:
    """A new pooled reader connection: no JIT toggling, JSON values decoded."""
    prepare_reader_connection(connection)
    for name in ("json", "jsonb"):  # nested values in results, not JSON text
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def reset_reader(connection: asyncpg.Connection) -> None:
    """Before a pooled connection is reused: back to its startup settings. (asyncpg's default
    reset also calls pg_advisory_unlock_all, which readers are not granted.)"""
    await connection.execute("RESET ALL")


def reader_connector(
    url: str, settings: DatabaseSettings
) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """What opens a pooled reader connection to ``url`` (``db.reader_pool``)."""
    session = {"application_name": READER_APPLICATION, **reader_session_settings(settings)}

    async def connect() -> asyncpg.Connection:
        connection = await asyncpg.connect(
            url, timeout=settings.connect_timeout_s, server_settings=session
        )
        await init_reader(connection)
        return connection

    return connect
