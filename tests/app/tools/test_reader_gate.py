"""A shop's reader connections shared fairly and waited for within the statement timeout: the
gate on its own, then a slow-SQL storm of some users of a shop against the real database while
another user of the same shop asks quick questions."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest
import pytest_asyncio

from app.tools import reader_gate
from app.tools.reader_gate import FairGate, ShopBusy, Usage
from app.tools.sql import QueryTimeout, SqlExecutor
from tests.factories import seeded_shop

TIMEOUT_MS = 1500
# Billions of rows to count: it runs until the statement timeout stops it.
SLOW_SQL = "SELECT count(*) FROM orders a, orders b, orders c, orders d"
QUICK_SQL = "SELECT count(*) FROM orders"


def heavy(gate: FairGate, *requesters: str) -> None:
    """Give requesters a past of slow queries (more than ``HEAVY_S`` lately)."""
    for name in requesters:
        gate.usage[name] = Usage(past_s=reader_gate.HEAVY_S * 5)


def test_one_query_that_ran_into_a_short_timeout_makes_its_requester_heavy(make_executor, shop):
    """With a 2 s statement timeout, one query stopped by it used 2 s: no more than HEAVY_S,
    so its requester stayed light and took the reserved connections again (the storm
    benchmark's quick users waited behind it). The SQL tool's gate counts half its timeout."""
    gate = make_executor(statement_timeout_ms=2000).gate(shop)
    now = time.monotonic()
    gate.usage.update(slow=Usage(past_s=2.0, updated=now), quick=Usage(past_s=0.05, updated=now))
    assert gate.heavy("slow", now) and not gate.heavy("quick", now)
    default = FairGate(4)
    default.usage.update(slow=Usage(past_s=2.0, updated=now))
    assert not default.heavy("slow", now)  # on its own, HEAVY_S (an upper bound) holds


async def test_a_wait_longer_than_allowed_is_a_clear_shop_busy():
    gate = FairGate(1)
    async with gate.slot("ann", wait_s=1):
        started = time.monotonic()
        with pytest.raises(ShopBusy, match="busy") as raised:
            await gate.acquire("bob", wait_s=0.2)
        assert time.monotonic() - started < 1  # bounded: not until ann lets go
    assert raised.value.code == "shop_busy" and "try again" in raised.value.message
    async with gate.slot("bob", wait_s=0.2) as waited_s:  # nothing was left behind
        assert waited_s < 0.2


async def test_a_light_user_gets_the_connection_that_heavy_users_may_not_take():
    gate = FairGate(4, reserve=1)  # one connection kept from heavy users
    heavy(gate, "h1", "h2", "h3", "h4")
    held = [await gate.acquire(name, wait_s=1) for name in ("h1", "h2", "h3")]
    fourth = asyncio.ensure_future(gate.acquire("h4", wait_s=5))  # waits: only 3 for heavy
    await asyncio.sleep(0.05)
    assert not fourth.done()
    light = await gate.acquire("light", wait_s=0.5)  # asked after h4, served at once
    assert gate.busy == 4
    gate.release("h1", held[0])
    await asyncio.wait_for(fourth, 1)  # the heavy one is served when a heavy one lets go
    for name, started in (("h2", held[1]), ("h3", held[2]), ("h4", fourth.result())):
        gate.release(name, started)
    gate.release("light", light)
    assert gate.busy == 0 and not gate.waiting


async def test_a_free_connection_goes_to_the_waiter_that_used_least_lately():
    gate = FairGate(2, reserve=0)
    gate.usage["busy-bee"] = Usage(past_s=1.0)
    holders = [await gate.acquire(name, wait_s=1) for name in ("a", "b")]
    first = asyncio.ensure_future(gate.acquire("busy-bee", wait_s=5))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(gate.acquire("newcomer", wait_s=5))
    await asyncio.sleep(0.01)
    gate.release("a", holders[0])
    await asyncio.wait_for(second, 1)
    assert not first.done()  # it asked first, but has used the shop more
    gate.release("b", holders[1])
    await asyncio.wait_for(first, 1)


async def test_one_requester_holds_at_most_half_and_a_cancelled_wait_leaves_nothing():
    gate = FairGate(4, reserve=0)
    mine = [await gate.acquire("greedy", wait_s=1) for _ in range(2)]
    third = asyncio.ensure_future(gate.acquire("greedy", wait_s=5))
    await asyncio.sleep(0.05)
    assert not third.done() and gate.busy == 2
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    assert not gate.waiting
    for started in mine:
        gate.release("greedy", started)
    assert gate.busy == 0


@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings):
    return await seeded_shop(
        engine, settings, "gate-a", seed=31, orders=300, end=date(2026, 11, 22)
    )


@pytest.fixture
def executor(make_executor):
    return make_executor(statement_timeout_ms=TIMEOUT_MS)


async def timed(executor: SqlExecutor, shop, sql: str, requester: str) -> tuple[float, object]:
    """How long the call took (s) and its result or error."""
    started = time.monotonic()
    try:
        outcome: object = await executor.run(tenant_id=shop, sql=sql, requester=requester)
    except (QueryTimeout, ShopBusy) as error:
        outcome = error
    return time.monotonic() - started, outcome


async def test_a_slow_sql_storm_neither_starves_a_quick_user_nor_outlives_its_timeout(
    shop, executor, monkeypatch
):
    """Six users of the shop ask slow SQL over and over on its four connections; a seventh asks
    quick questions meanwhile. Before: every call queued without bound (slow ones took several
    timeouts, the quick user waited behind them)."""
    monkeypatch.setattr(reader_gate, "HEAVY_S", 1.0)
    storm_until = time.monotonic() + 8

    async def slow_user(name: str) -> list[tuple[float, object]]:
        calls = []
        while time.monotonic() < storm_until:
            calls.append(await timed(executor, shop, SLOW_SQL, name))
        return calls

    async def quick_user() -> list[tuple[float, object]]:
        await asyncio.sleep(4)  # the storm is established: its users are heavy
        return [await timed(executor, shop, QUICK_SQL, "quick") for _ in range(5)]

    *storm, quick = await asyncio.gather(*(slow_user(f"slow-{n}") for n in range(6)), quick_user())
    slow_calls = [call for calls in storm for call in calls]
    limit_s = TIMEOUT_MS / 1000 + 1  # the wait counts against the timeout
    assert all(took_s < limit_s for took_s, _ in slow_calls), sorted(t for t, _ in slow_calls)
    assert {type(outcome) for _, outcome in slow_calls} <= {QueryTimeout, ShopBusy}
    for took_s, outcome in quick:
        assert not isinstance(outcome, BaseException), outcome
        assert took_s < TIMEOUT_MS / 1000, [t for t, _ in quick]  # never behind a slow query
