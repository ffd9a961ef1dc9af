"""The shop's fair gate and the process's connection budget together (``SqlExecutor.execute``):
a call's turn at the shop's connections is given back only with its connection, whatever the
outcome, and a call that finds the server away is tried again through both. On a server of
the module's own, which a test stops and starts."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

import pytest
import pytest_asyncio
from sqlalchemy import text

from app.tools.reader_gate import ShopBusy
from app.tools.sql import QueryTimeout, SqlExecutionError, SqlExecutor
from db.tenants import create_tenant
from tests.conftest import migrated
from tests.pg_control import ControlledServer

TIMEOUT_MS = 1500
# never ends, holds one row at a time (a series would spill past temp_file_limit first)
RUNAWAY = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


@pytest_asyncio.fixture(scope="module")
async def database_url(controlled: ControlledServer) -> str:
    return await migrated(await controlled.create_database("turns"))


@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings):
    async with engine.begin() as connection:
        tenant = await create_tenant(connection, slug="turns", name="Turns", settings=settings)
    return tenant.id


def held(executor: SqlExecutor, shop) -> tuple[int, int, int]:
    """The shop's turns at its gate, its connections lent out, and the budget's open count
    less the idle connections (connections in use or being closed)."""
    pool = executor._pools[(shop, "primary")]
    idle = sum(len(p.idle) for p in executor._pools.values())
    return executor.gate(shop).busy, pool.busy, executor.budget.open - idle


async def settled(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not given back in time"
        await asyncio.sleep(0.01)


async def frozen_backend(engine, fragment: str) -> int:
    """Find the reader backend running a query with ``fragment`` and stop it (SIGSTOP): a
    server that does not answer, nor cancel at its statement timeout. Its pid."""
    find = text(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'bichat-reader' "
        "AND state = 'active' AND query LIKE :pattern"
    )
    for _ in range(500):
        async with engine.connect() as connection:
            pid = await connection.scalar(find, {"pattern": f"%{fragment}%"})
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError("the query never ran")


async def test_a_turn_is_given_back_with_its_connection_whatever_the_outcome(
    shop, engine, make_executor
):
    executor = make_executor(statement_timeout_ms=TIMEOUT_MS, reader_max_connections=2)
    answered = await executor.run(tenant_id=shop, sql="SELECT 1 AS x")
    assert answered.rows == [[1]]
    await settled(lambda: held(executor, shop) == (0, 0, 0))  # reset in the background
    with pytest.raises(SqlExecutionError):
        await executor.run(tenant_id=shop, sql="SELECT no_such_column FROM orders")
    assert held(executor, shop) == (0, 0, 0)  # a failed call gives both back before it returns
    with pytest.raises(QueryTimeout, match="the server cancelled it"):
        await executor.run(tenant_id=shop, sql=RUNAWAY)  # the server cancels it
    assert held(executor, shop) == (0, 0, 0)
    call = asyncio.create_task(executor.run(tenant_id=shop, sql=RUNAWAY))
    pid = await frozen_backend(engine, "WITH RECURSIVE r(n)")
    try:
        with pytest.raises(QueryTimeout, match="session ended"):
            await call  # the client gave up on the hung backend
        # it is still being stopped: its turn stays taken, so the gate lets nobody in for
        # whom the shop's pool (and the budget) would have no room yet
        assert held(executor, shop) == (1, 1, 1)
    finally:
        os.kill(pid, signal.SIGCONT)
    await settled(lambda: held(executor, shop) == (0, 0, 0))
    again = await executor.run(tenant_id=shop, sql="SELECT 2 AS x")
    assert again.rows == [[2]]


async def started_after(server: ControlledServer, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await asyncio.to_thread(server.start)


async def test_a_call_while_the_server_is_away_is_tried_again_through_gate_and_budget(
    shop, make_executor, controlled
):
    """The server is down when the call comes and back a second later: every failed attempt
    gave its turn and its room back (a budget of one connection: a leaked room would leave
    the next attempt waiting, readers_busy), and the call is answered."""
    executor = make_executor(database_retry_s=10.0, reader_max_connections=1)
    await executor.run(tenant_id=shop, sql="SELECT 1 AS x")  # an idle pooled connection
    await settled(lambda: held(executor, shop) == (0, 0, 0))
    await asyncio.to_thread(controlled.stop)  # ends that connection's session
    back = asyncio.create_task(started_after(controlled, 1.0))
    try:
        result = await executor.run(tenant_id=shop, sql="SELECT count(*) AS n FROM orders")
    finally:
        await back
    assert result.rows == [[0]] and result.served_by == "primary"
    await settled(lambda: held(executor, shop) == (0, 0, 0))
    assert executor.budget.open == 1 and executor.budget.stats.busy_errors == 0


async def test_product_search_waits_its_turn_at_the_shop_like_the_sql_tool(make_executor, shop):
    executor = make_executor(statement_timeout_ms=TIMEOUT_MS)
    gate = executor.gate(shop)
    busy = [await gate.turn(name, wait_s=1) for name in ("u1", "u1", "u2", "u2")]
    try:
        with pytest.raises(ShopBusy):  # all four connections' turns are taken by others
            async with executor.reader(shop, requester="u3"):
                pass
    finally:
        for turn in busy:
            turn.end()
    async with executor.reader(shop, requester="u3") as connection:
        assert await connection.fetchval("SELECT 1") == 1
    assert held(executor, shop)[:2] == (0, 0)  # turn and connection given back
