"""Alembic environment. Uses the connection handed over by ``db.migrate`` when there is one,
otherwise connects with bichat's settings (so ``alembic -c db/alembic.ini ...`` works too)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from db.models import Base

target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Objects created by raw SQL in migrations are not part of the ORM metadata."""
    return not (type_ == "table" and reflected and compare_to is None)


def run_with_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_settings() -> None:
    from db.engine import open_engine
    from db.settings import DatabaseSettings, load

    async with open_engine(load(DatabaseSettings)) as engine, engine.connect() as connection:
        await connection.run_sync(run_with_connection)
        await connection.commit()


given = context.config.attributes.get("connection")
if given is not None:
    run_with_connection(given)
else:
    asyncio.run(run_with_settings())
