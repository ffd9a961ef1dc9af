"""Session-level advisory locks: work that one process at a time may do on a database
(several bichat instances starting together, say)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@asynccontextmanager
async def held(engine: AsyncEngine, key: int) -> AsyncIterator[None]:
    """Wait for the lock ``key`` and hold it (on a connection of its own) until the block ends."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        await connection.commit()
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await connection.commit()
