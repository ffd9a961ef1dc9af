"""The connection budget's own rules, on real connections: fair turns between shops, a
cancelled waiter hands on what it got, a broken connection frees its room."""

from __future__ import annotations

import asyncio

import asyncpg

from db.reader_pool import ConnectionBudget, ReaderPool


async def reset(connection: asyncpg.Connection) -> None:
    await connection.execute("RESET ALL")


def pool_of(name: str, budget: ConnectionBudget, url: str, *, max_size: int = 4) -> ReaderPool:
    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(url)

    return ReaderPool(
        name=name, connect=connect, reset=reset, budget=budget, max_size=max_size, wait_s=5
    )


async def test_a_freed_connection_goes_to_the_shop_holding_fewest(database_url):
    """Shop A holds both connections and queues more; shop B asks later. When A gives one
    back, B gets the room (A holds more), not A's earlier queued question."""
    budget = ConnectionBudget(2)
    a, b = pool_of("a", budget, database_url), pool_of("b", budget, database_url)
    held = [await a.acquire(), await a.acquire()]
    order: list[str] = []

    async def ask(pool: ReaderPool, label: str) -> None:
        connection = await pool.acquire()
        order.append(label)
        await pool.release(connection)

    a_more = asyncio.create_task(ask(a, "a-queued"))
    await asyncio.sleep(0.01)
    b_asks = asyncio.create_task(ask(b, "b"))
    await asyncio.sleep(0.01)
    await a.release(held.pop())
    await asyncio.wait_for(b_asks, 5)
    assert order == ["b"]
    await a.release(held.pop())
    await asyncio.wait_for(a_more, 5)
    assert order == ["b", "a-queued"] and budget.open <= 2
    await budget.close()
    assert budget.open == 0


async def test_a_cancelled_waiter_leaves_no_room_taken(database_url):
    budget = ConnectionBudget(1)
    a, b = pool_of("a", budget, database_url), pool_of("b", budget, database_url)
    held = await a.acquire()
    waiting = asyncio.create_task(b.take(5))
    await asyncio.sleep(0.01)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await a.release(held)
    again = await b.acquire()  # A's idle connection is closed to make room for B
    assert budget.open == 1 and a.size == 0 and b.size == 1
    await b.release(again)
    await budget.close()


async def test_a_connection_that_broke_frees_its_room(database_url):
    budget = ConnectionBudget(1)
    a, b = pool_of("a", budget, database_url), pool_of("b", budget, database_url)
    connection = await a.acquire()
    connection.terminate()
    await a.release(connection)
    assert budget.open == 0 and a.size == 0
    async with b.acquire() as other:
        assert await other.fetchval("SELECT 1") == 1
    await budget.close()
