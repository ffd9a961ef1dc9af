"""Per-tenant reader login roles: the database side of tenant isolation for the SQL tool.

Each tenant has one login role, ``bichat_t_<tenant uuid hex>``, a member of ``bichat_reader``
(which holds the SELECT grants, see migration 0002). Row-level security maps the role a
connection logged in as (``session_user``) to its tenant, so the tenant is fixed at login.
Limits are role settings, so the server applies them even if our code forgets to.
"""

from __future__ import annotations

import logging
import secrets
import uuid

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.settings import DatabaseSettings

READER_GROUP = "bichat_reader"
READER_SEARCH_PATH = "bi, public"

log = logging.getLogger(__name__)


def reader_role_name(tenant_id: uuid.UUID) -> str:
    return f"bichat_t_{tenant_id.hex}"


def reader_session_settings(settings: DatabaseSettings) -> dict[str, str]:
    """Session settings of every reader connection.

    They are stored as the role's defaults (so the server applies them to any login) and also
    sent by bichat as startup parameters when it connects, which take precedence over role
    defaults: a reader that altered its own defaults (possible outside a read-only
    transaction, never from the SQL tool) cannot weaken a connection bichat opens.
    """
    return {
        "default_transaction_read_only": "on",
        "statement_timeout": f"{settings.statement_timeout_ms}ms",
        "idle_in_transaction_session_timeout": f"{settings.reader_idle_in_transaction_timeout_ms}ms",
        "work_mem": f"{settings.reader_work_mem_kb}kB",
        "search_path": READER_SEARCH_PATH,
        # The guard regenerates string literals assuming backslashes are ordinary characters.
        "standard_conforming_strings": "on",
        # No JIT: predictable latency, and no need for asyncpg to toggle it (see db/reader.py).
        "jit": "off",
        # Pinned too, so that role defaults a reader might set on itself cannot reach
        # bichat's connections (startup parameters outrank role settings).
        "row_security": "on",
        "hash_mem_multiplier": "2",
        "max_parallel_workers_per_gather": "2",
        # A backend whose client went away (the SQL tool gave up on it) stops at its next
        # check for interrupts instead of running its query to the end.
        "client_connection_check_interval": "1s",
    }


async def server_version_num(connection: AsyncConnection) -> int:
    return int(await connection.scalar(text("SELECT current_setting('server_version_num')")))


async def apply_reader_settings(
    connection: AsyncConnection, role: str, settings: DatabaseSettings
) -> None:
    """(Re)apply the role-level limits; ``bichat db init`` runs this for every tenant."""
    # Undo any tampering: role-wide and this database's role settings.
    await connection.execute(text(f'ALTER ROLE "{role}" RESET ALL'))
    database = await connection.scalar(text("SELECT current_database()"))
    await connection.execute(text(f'ALTER ROLE "{role}" IN DATABASE "{database}" RESET ALL'))
    for name, value in reader_session_settings(settings).items():
        literal = value if name == "search_path" else f"'{value}'"  # a list, not one name
        await connection.execute(text(f'ALTER ROLE "{role}" SET {name} = {literal}'))
    await connection.execute(
        text(f'ALTER ROLE "{role}" CONNECTION LIMIT {settings.reader_connection_limit}')
    )
    await _apply_temp_file_limit(connection, role, settings.reader_temp_file_limit_kb)


async def _apply_temp_file_limit(connection: AsyncConnection, role: str, limit_kb: int) -> None:
    """temp_file_limit is superuser-only; a non-superuser owner skips it with a warning."""
    savepoint = await connection.begin_nested()
    try:
        await connection.execute(
            text(f"ALTER ROLE \"{role}\" SET temp_file_limit = '{limit_kb}kB'")
        )
        await savepoint.commit()
    except DBAPIError:
        await savepoint.rollback()
        log.warning("cannot set temp_file_limit for %s: the owner role is not a superuser", role)


async def create_reader_role(
    connection: AsyncConnection, tenant_id: uuid.UUID, settings: DatabaseSettings
) -> str:
    """Create the tenant's login role and record it; returns the role name."""
    role = reader_role_name(tenant_id)
    password = secrets.token_urlsafe(32)  # [A-Za-z0-9_-] only: safe inside a literal
    await connection.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"))
    membership = (
        " WITH INHERIT TRUE, SET FALSE" if await server_version_num(connection) >= 160000 else ""
    )
    await connection.execute(text(f'GRANT {READER_GROUP} TO "{role}"{membership}'))
    await apply_reader_settings(connection, role, settings)
    await connection.execute(
        text("INSERT INTO tenant_readers (tenant_id, role_name, password) VALUES (:t, :r, :p)"),
        {"t": tenant_id, "r": role, "p": password},
    )
    return role


async def drop_reader_role(connection: AsyncConnection, role: str) -> bool:
    """End the role's sessions and drop it. If it owns objects in another database (a reader
    may connect to other databases of the server), it is disabled instead: returns False."""
    await _best_effort(
        connection,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r",
        {"r": role},
    )
    if await _best_effort(connection, f'DROP ROLE IF EXISTS "{role}"', {}):
        return True
    await connection.execute(text(f'ALTER ROLE "{role}" NOLOGIN'))
    log.warning("reader role %s owns objects in another database: disabled, not dropped", role)
    return False


async def _best_effort(connection: AsyncConnection, sql: str, params: dict[str, str]) -> bool:
    savepoint = await connection.begin_nested()
    try:
        await connection.execute(text(sql), params)
        await savepoint.commit()
        return True
    except DBAPIError:
        await savepoint.rollback()
        return False


async def sync_reader_roles(connection: AsyncConnection, settings: DatabaseSettings) -> int:
    """Re-apply current limits to every tenant's reader role; returns how many."""
    roles = (await connection.scalars(text("SELECT role_name FROM tenant_readers"))).all()
    for role in roles:
        await apply_reader_settings(connection, role, settings)
    return len(roles)
