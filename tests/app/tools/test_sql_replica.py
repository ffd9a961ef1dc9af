"""Reads on a real hot standby (pg_basebackup of a primary, streaming): the tenant's reader
role, row-level security and limits hold there; a standby that lags too far or goes down
sends reads to the primary within the same call."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import pytest_asyncio

from app.config import load_settings
from app.tools.sql import QueryTimeout, SqlExecutionError, SqlExecutor
from db.engine import create_engine
from db.replica import LAG_CHECK_S
from tests.standby import wait_until

MAX_LAG_MS = 300


async def value_at(url: str, sql: str, *args):
    """One value read straight from the server at ``url`` (the standby or the primary)."""
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def caught_up(replicated) -> bool:
    position = await value_at(replicated.primary_url, "SELECT pg_current_wal_lsn()::text")
    return bool(
        await value_at(
            replicated.standby_url, "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", position
        )
    )


async def wait_caught_up(replicated) -> None:
    for _ in range(300):
        if await caught_up(replicated):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the standby did not catch up")


@pytest_asyncio.fixture
async def executor(replicated, tmp_path):
    settings = load_settings(
        database_url=replicated.primary_url,
        reader_database_url=replicated.standby_url,
        replica_max_lag_ms=MAX_LAG_MS,
        data_dir=tmp_path,
    )
    engine = create_engine(replicated.primary_url)
    executor = SqlExecutor(
        engine=engine, settings=settings, owner_url=replicated.primary_url, guard=False
    )
    await wait_caught_up(replicated)
    yield executor
    await executor.close()
    await engine.dispose()


def count_sql(table: str) -> str:
    return f"SELECT count(*) AS n FROM {table}"


async def test_reads_go_to_the_standby_as_the_tenants_reader(replicated, executor):
    shop = replicated.shop
    result = await executor.run(tenant_id=shop.id, sql=count_sql("orders"))
    assert result.served_by == "replica" and result.rows == [[2]]
    async with executor.reader(shop.id) as connection:  # product search reads the same way
        assert await connection.fetchval("SELECT pg_is_in_recovery()") is True
        assert await connection.fetchval("SELECT session_user") == f"bichat_t_{shop.id.hex}"


async def test_another_shops_rows_are_invisible_on_the_standby(replicated, executor):
    other = replicated.other.id
    for table in ("orders", "products", "customers", "order_items"):
        sql = f"SELECT count(*) AS n FROM {table} WHERE tenant_id = '{other}'"
        result = await executor.run(tenant_id=replicated.shop.id, sql=sql)
        assert result.served_by == "replica" and result.rows == [[0]], table
    everything = await executor.run(tenant_id=replicated.shop.id, sql=count_sql("tenants"))
    assert everything.rows == [[1]]  # its own shop only


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO categories (tenant_id, name) SELECT tenant_id, 'x' FROM categories LIMIT 1",
        "SELECT set_config('statement_timeout', '0', false)",
        "SELECT email FROM public.customers",
        "SELECT password FROM tenant_readers",
    ],
)
async def test_writes_and_forbidden_reads_are_refused_on_the_standby(replicated, executor, sql):
    with pytest.raises(SqlExecutionError):
        await executor.run(tenant_id=replicated.shop.id, sql=sql)
    assert executor.replica is not None and executor.replica.up  # refused, not a failover


async def test_the_statement_timeout_holds_on_the_standby(replicated, executor):
    runaway = "SELECT count(*) AS n FROM generate_series(1, 1000000000) AS g"
    with pytest.raises(QueryTimeout):
        await executor.run(tenant_id=replicated.shop.id, sql=runaway, timeout_ms=500)
    assert executor.replica is not None and executor.replica.up
    served = executor.replica.served
    assert served["replica"] >= 1 and served["primary"] == 0


async def test_a_standby_behind_the_limit_sends_reads_to_the_primary(replicated, executor):
    shop = replicated.shop.id
    await executor.run(tenant_id=shop, sql="SELECT 1 AS x")  # measured: fresh
    await value_at(replicated.standby_url, "SELECT pg_wal_replay_pause()")
    try:
        name = "arrived while the standby was paused"
        await value_at(
            replicated.primary_url,
            "INSERT INTO categories (tenant_id, name, slug) VALUES ($1, $2, 'paused')",
            shop,
            name,
        )
        await asyncio.sleep(LAG_CHECK_S + MAX_LAG_MS / 1000)
        sql = f"SELECT count(*) AS n FROM categories WHERE name = '{name}'"
        result = await executor.run(tenant_id=shop, sql=sql)
        assert result.served_by == "primary" and result.rows == [[1]]  # the new row is read
        status = executor.replica.status()
        assert not status.serving and status.lag_ms > MAX_LAG_MS and "lag" in status.reason
    finally:
        await value_at(replicated.standby_url, "SELECT pg_wal_replay_resume()")
    await wait_caught_up(replicated)
    await asyncio.sleep(LAG_CHECK_S)
    again = await executor.run(tenant_id=shop, sql=sql)
    assert again.served_by == "replica" and again.rows == [[1]], executor.replica.status()


async def test_a_standby_that_goes_down_fails_over_within_one_query(replicated, executor):
    shop = replicated.shop.id
    first = await executor.run(tenant_id=shop, sql=count_sql("orders"))
    assert first.served_by == "replica"
    slow = "SELECT count(*) AS n FROM generate_series(1, 5000) AS a, generate_series(1, 4000) AS b"
    running = asyncio.create_task(executor.run(tenant_id=shop, sql=slow, timeout_ms=30_000))
    await asyncio.sleep(0.5)  # the read is under way on the standby
    await asyncio.to_thread(replicated.standby.stop, "immediate")
    try:
        answer = await running  # the same call, answered by the primary
        assert answer.served_by == "primary" and answer.rows == [[20000000]]
        assert not executor.replica.status().up
        again = await executor.run(tenant_id=shop, sql=count_sql("orders"))
        assert again.served_by == "primary" and again.rows == first.rows  # not tried at once
        # later, a connection to the standby is refused: the read goes to the primary
        executor.replica.down_until = float("-inf")
        fresh = await executor.run(tenant_id=replicated.other.id, sql=count_sql("orders"))
        assert fresh.served_by == "primary" and fresh.rows == [[2]]
    finally:
        replicated.standby.start()
        wait_until(replicated.standby.running, what="the standby restarting")
