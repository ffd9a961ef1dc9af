"""Migrations: no drift from the ORM, a clean round trip to base, and an idempotent init."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from db import migrate
from db.bootstrap import initialise, read_status
from db.engine import create_engine
from db.models import Base
from db.tenants import create_tenant
from db.urls import plain_url
from tests.conftest import settings_for


def schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def pg_dump_schema(url: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--schema-only", plain_url(url)],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


async def user_tables(engine) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname IN ('public', 'bi')")
        )
        return {row[0] for row in rows}


@pytest_asyncio.fixture
async def empty(make_database, tmp_path) -> AsyncIterator[tuple[AsyncEngine, Settings, str]]:
    """An empty database: its engine, settings and URL."""
    url = await make_database()
    engine = create_engine(url)
    yield engine, settings_for(url, tmp_path), url
    await engine.dispose()


async def test_migrated_database_matches_the_orm(empty):
    engine, _, _ = empty
    await migrate.upgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(schema_diff) == []


async def test_drift_check_notices_a_missing_column(empty):
    """The drift test above can fail: drop a column and it reports it."""
    engine, _, _ = empty
    await migrate.upgrade(engine)
    async with engine.begin() as connection:
        await connection.execute(text("ALTER TABLE reviews DROP COLUMN title"))
        diff = await connection.run_sync(schema_diff)
    assert [d[0] for d in diff] == ["add_column"]  # type: ignore[index]


async def reader_roles(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.scalars(
            text("SELECT rolname FROM pg_roles WHERE rolname LIKE 'bichat\\_t\\_%'")
        )
        return set(rows)


async def test_downgrade_to_base_and_up_again(empty):
    engine, settings, _ = empty
    await migrate.upgrade(engine)
    async with engine.begin() as connection:
        tenant = await create_tenant(connection, slug="round-trip", name="R", settings=settings)
    role = f"bichat_t_{tenant.id.hex}"
    assert role in await reader_roles(engine)
    await migrate.downgrade(engine, "base")
    assert await user_tables(engine) == {"alembic_version"}
    assert await migrate.current_revision(engine) is None
    assert role not in await reader_roles(engine)
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()
    async with engine.connect() as connection:
        assert await connection.run_sync(schema_diff) == []
        assert await connection.scalar(text("SELECT count(*) FROM tenants")) == 0


async def test_init_twice_changes_nothing(empty):
    engine, settings, url = empty
    await initialise(engine, settings)
    async with engine.begin() as connection:
        await create_tenant(connection, slug="idem", name="I", settings=settings)
    first = pg_dump_schema(url)
    status = await read_status(engine, settings)
    await initialise(engine, settings)
    assert pg_dump_schema(url) == first
    assert await read_status(engine, settings) == status
    assert status.up_to_date and status.reader_hardened and status.tenants == 1


@pytest.mark.parametrize("revision", ["0001", "0002", "0003", "0004"])
async def test_each_revision_upgrades_to_head(empty, revision):
    engine, _, _ = empty
    await migrate.upgrade(engine, revision)
    assert await migrate.current_revision(engine) == revision
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()


async def hnsw_options(engine: AsyncEngine) -> list[str] | None:
    async with engine.connect() as connection:
        return await connection.scalar(
            text(
                "SELECT reloptions FROM pg_class "
                "WHERE relname = 'ix_product_embeddings_embedding_hnsw'"
            )
        )


async def test_hnsw_index_has_the_build_parameters_of_the_orm(empty):
    """The drift check above does not compare index options: 0004 rebuilds the HNSW index
    with the ORM's m and ef_construction, and its downgrade restores pgvector's defaults."""
    engine, _, _ = empty
    index = next(
        i for i in Base.metadata.tables["product_embeddings"].indexes if i.name.endswith("hnsw")
    )
    expected = sorted(f"{k}={v}" for k, v in index.dialect_options["postgresql"]["with"].items())
    assert expected == ["ef_construction=128", "m=24"]
    await migrate.upgrade(engine, "0003")
    assert await hnsw_options(engine) is None
    await migrate.upgrade(engine)
    assert sorted(await hnsw_options(engine) or []) == expected
    await migrate.downgrade(engine, "0003")
    assert await hnsw_options(engine) is None
