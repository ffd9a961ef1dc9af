"""Running Alembic migrations on an async engine (``bichat db init`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.errors import SchemaNotReady

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "db/migrations has no revisions"
    return head


def _run(connection: Connection, action: str, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, target)


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """Migrate to ``target`` (idempotent: at head this changes nothing)."""
    async with engine.begin() as connection:
        # Serialise concurrent `bichat db init` runs on one database.
        await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('bichat-migrate'))")
        await connection.run_sync(_run, "upgrade", target)


async def downgrade(engine: AsyncEngine, target: str = "base") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_run, "downgrade", target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def require_head(engine: AsyncEngine) -> None:
    """``SchemaNotReady`` unless the database is at this code's head revision (a fresh data dir
    has no schema until ``bichat db init`` or ``bichat serve``)."""
    current, head = await current_revision(engine), head_revision()
    if current == head:
        return
    where = "has no bichat schema yet" if current is None else f"is at revision {current}"
    raise SchemaNotReady(
        f"the database {where}, this bichat needs {head}: run `bichat db init` "
        "(`bichat serve` does it too)"
    )
