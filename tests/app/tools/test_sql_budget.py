"""The connection budget through the SQL tool: many shops at once, one count of connections
(``BICHAT_READER_MAX_CONNECTIONS``), watched from the server's own pg_stat_activity."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
from sqlalchemy import text

from app.config import Settings
from app.tools.sql import SqlExecutor
from db.reader_pool import ReadersBusy
from tests.factories import empty_shops

SHOPS = 12
BUDGET = 4
# long enough that the shops' questions overlap, short enough for a test (no pg_sleep: revoked)
SLOW_SQL = "SELECT count(*) AS n FROM generate_series(1, 400000) AS g WHERE g % 7 = 3"
READER_SESSIONS = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE application_name = 'bichat-reader' AND datname = current_database()"
)


@pytest_asyncio.fixture(scope="module")
async def shops(engine, settings) -> list[uuid.UUID]:
    return await empty_shops(engine, settings, "budget", SHOPS)


def budgeted(engine, settings: Settings, database_url: str, budget: int) -> SqlExecutor:
    limited = settings.model_copy(update={"reader_max_connections": budget})
    return SqlExecutor(engine=engine, settings=limited, owner_url=database_url)


async def watch_sessions(engine, peaks: list[int], stop: asyncio.Event) -> None:
    """Sample the server's count of reader sessions of this database until ``stop``."""
    async with engine.connect() as connection:
        while not stop.is_set():
            peaks.append(int(await connection.scalar(READER_SESSIONS)))
            await connection.commit()  # pg_stat_activity is a snapshot per transaction
            await asyncio.sleep(0.005)


async def test_twelve_shops_at_once_fit_in_four_connections(shops, engine, settings, database_url):
    executor = budgeted(engine, settings, database_url, BUDGET)
    samples: list[int] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_sessions(engine, samples, stop))
    try:
        asks = [executor.run(tenant_id=shop, sql=SLOW_SQL) for shop in shops for _ in range(2)]
        results = await asyncio.gather(*asks)
    finally:
        stop.set()
        await watcher
        await executor.close()
    assert [r.rows for r in results] == [[[57143]]] * (2 * SHOPS)  # every question answered
    assert max(samples) <= BUDGET, max(samples)  # the server never saw more
    assert max(samples) >= 2  # (the watch did see the questions run)
    assert executor.budget.stats.peak == BUDGET
    assert executor.budget.stats.evicted >= SHOPS - BUDGET  # idle shops made room for others
    assert executor.budget.open == 0  # close() ended them all


async def test_idle_pools_make_room_least_recently_used_first(
    shops, engine, settings, database_url
):
    executor = budgeted(engine, settings, database_url, 2)
    try:
        first, second, third = shops[:3]
        await executor.run(tenant_id=first, sql="SELECT 1 AS x")
        await executor.run(tenant_id=second, sql="SELECT 2 AS x")
        await executor.run(tenant_id=first, sql="SELECT 3 AS x")  # second is now the older
        await asyncio.sleep(0.05)  # (connections are reset after the call returns)
        await executor.run(tenant_id=third, sql="SELECT 4 AS x")
        async with engine.connect() as connection:
            roles = set(
                await connection.scalars(
                    text(
                        "SELECT usename FROM pg_stat_activity WHERE "
                        "application_name = 'bichat-reader' AND datname = current_database()"
                    )
                )
            )
    finally:
        await executor.close()
    assert roles == {f"bichat_t_{first.hex}", f"bichat_t_{third.hex}"}


async def test_the_wait_for_a_connection_is_bounded(shops, engine, settings, database_url):
    """One connection, held by a long query: another shop's question waits no longer than its
    timeout and is told why; nothing of it ran."""
    executor = budgeted(engine, settings, database_url, 1)
    slow = "SELECT count(*) AS n FROM generate_series(1, 30000000) AS g WHERE g % 7 = 3"
    try:
        holder = asyncio.create_task(executor.run(tenant_id=shops[0], sql=slow, timeout_ms=4000))
        await asyncio.sleep(0.3)
        with pytest.raises(ReadersBusy) as raised:
            await executor.run(tenant_id=shops[1], sql="SELECT 1 AS x", timeout_ms=300)
        assert "BICHAT_READER_MAX_CONNECTIONS" in raised.value.message
        assert executor.budget.stats.busy_errors == 1
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
    finally:
        await executor.close()
