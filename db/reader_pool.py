"""Reader connections of every tenant under one budget (``BICHAT_READER_MAX_CONNECTIONS``).

Each tenant logs in as its own reader role, so each tenant needs connections of its own, and
a host with many shops would need shops times pool size of them. Instead, every tenant's
``ReaderPool`` (one per tenant and server) draws from one ``ConnectionBudget``:

- **Never over the budget.** A connection is counted from before it is opened until its
  backend is gone (a close waits for the server to end the session), so the server never
  sees more of this process's reader sessions than the budget.
- **Idle connections make room, least recently used first.** When a shop needs a new
  connection and the budget is spent, the idle connection of the pool used longest ago is
  closed for it.
- **A fair, bounded wait.** When every connection is busy, a caller waits at most ``wait_s``
  (then ``ReadersBusy``, nothing was run). What comes free goes to the waiting shop that holds
  the fewest connections, then to the one waiting longest, so one busy shop cannot starve the
  others; a shop holds at most its pool size.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import asyncpg

from db.errors import BichatError

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0  # a graceful close that takes longer is cut (the socket is dropped)
Connect = Callable[[], Awaitable[asyncpg.Connection]]
Reset = Callable[[asyncpg.Connection], Awaitable[None]]
OnWait = Callable[[float], None]  # told how long (s) a caller waited in the queue


class ReadersBusy(BichatError):
    """Every reader connection the budget allows stayed busy for the whole wait."""

    code = "readers_busy"


@dataclass(eq=False)
class Waiter:
    pool: ReaderPool
    since: float
    # an idle connection of its pool, or None: room in the budget to open one
    granted: asyncio.Future[asyncpg.Connection | None]
    evicting: bool = False  # a connection is being closed to make room for it


@dataclass
class BudgetStats:
    """What a benchmark or a metrics page reads: peak connections and waits."""

    peak: int = 0
    opened: int = 0
    evicted: int = 0
    waits: int = 0  # acquisitions that had to wait
    busy_errors: int = 0
    wait_s: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))  # recent waits


class ConnectionBudget:
    """At most ``limit`` reader connections open at once across all pools of a process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0  # connections open, being opened, or being closed
        self.pools: set[ReaderPool] = set()
        self.waiting: list[Waiter] = []
        self.stats = BudgetStats()
        self._closing: set[asyncio.Task[None]] = set()

    async def take(
        self, pool: ReaderPool, *, wait_s: float, on_wait: OnWait | None = None
    ) -> asyncpg.Connection:
        """A connection for ``pool``: an idle one of its own, or a new one once there is room.
        ``on_wait`` hears how long the queue took (not the opening of a new connection)."""
        self.pools.add(pool)
        pool.last_used = time.monotonic()
        self.drop_closed(pool)
        if pool.idle and pool.busy < pool.max_size and not self.waiting:
            return pool.lend_idle()  # the common case: no wait, no queue
        waiter = Waiter(pool, time.monotonic(), asyncio.get_running_loop().create_future())
        self.waiting.append(waiter)
        self.grant()
        granted = await self.wait(waiter, wait_s)
        if on_wait is not None:
            on_wait(time.monotonic() - waiter.since)
        if granted is not None:
            return granted
        try:
            connection = await pool.connect()
        except BaseException:
            pool.busy -= 1
            self.open -= 1
            self.grant()
            raise
        self.stats.opened += 1
        return connection

    def drop_closed(self, pool: ReaderPool) -> None:
        """Idle connections the server ended (a restart, a standby gone) free their room."""
        alive = [c for c in pool.idle if not c.is_closed()]
        self.open -= len(pool.idle) - len(alive)
        pool.idle = alive

    async def wait(self, waiter: Waiter, wait_s: float) -> asyncpg.Connection | None:
        if waiter.granted.done():
            return waiter.granted.result()
        started = time.monotonic()
        self.stats.waits += 1
        try:
            async with asyncio.timeout(max(wait_s, 0.0)):
                granted = await asyncio.shield(waiter.granted)
        except TimeoutError:
            if not waiter.granted.done():
                self.waiting.remove(waiter)
                self.stats.busy_errors += 1
                raise ReadersBusy(self.busy_message(waiter.pool, wait_s)) from None
            granted = waiter.granted.result()  # granted as the time ran out: take it
        except asyncio.CancelledError:
            self.withdraw(waiter)
            raise
        self.stats.wait_s.append(time.monotonic() - started)
        return granted

    def withdraw(self, waiter: Waiter) -> None:
        """A cancelled waiter: out of the queue, or what it was granted handed on."""
        if waiter in self.waiting:
            self.waiting.remove(waiter)
        elif waiter.granted.done():
            granted = waiter.granted.result()
            waiter.pool.busy -= 1
            if granted is None:
                self.open -= 1
            else:
                waiter.pool.idle.append(granted)
        self.grant()

    def grant(self) -> None:
        """Serve the waiters, fairest first: a connection of their own pool that is idle,
        room in the budget, or room made by closing the least recently used idle connection."""
        for waiter in sorted(self.waiting, key=lambda w: (w.pool.busy, w.since)):
            pool = waiter.pool
            if pool.busy >= pool.max_size or waiter.evicting:
                continue
            if pool.idle:
                self.hand(waiter, pool.lend_idle())
            elif self.open < self.limit:
                self.open += 1
                self.stats.peak = max(self.stats.peak, self.open)
                pool.busy += 1
                self.hand(waiter, None)
            elif self.evict_for(waiter):
                continue
            else:
                return  # nothing idle anywhere: wait for a connection to come back

    def hand(self, waiter: Waiter, granted: asyncpg.Connection | None) -> None:
        self.waiting.remove(waiter)
        waiter.granted.set_result(granted)

    def evict_for(self, waiter: Waiter) -> bool:
        """Close the least recently used idle connection to make room for ``waiter``."""
        pools = [p for p in self.pools if p.idle and p is not waiter.pool]
        if not pools:
            return False
        victim = min(pools, key=lambda p: p.last_used)
        connection = victim.idle.pop(0)  # its oldest idle connection
        waiter.evicting = True
        self.stats.evicted += 1
        task = asyncio.create_task(self.close_then_grant(connection, waiter))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return True

    async def close_then_grant(self, connection: asyncpg.Connection, waiter: Waiter) -> None:
        await close_connection(connection)
        self.open -= 1
        waiter.evicting = False
        self.grant()

    def returned(self, pool: ReaderPool, connection: asyncpg.Connection | None) -> None:
        """A connection comes back (``None`` or closed: it is gone and its room is free)."""
        pool.busy -= 1
        pool.last_used = time.monotonic()
        if connection is None or connection.is_closed():
            self.open -= 1
        else:
            pool.idle.append(connection)
        self.grant()

    async def close_idle(self, pool: ReaderPool) -> None:
        """Close every idle connection of ``pool`` (its server went away, or shutdown)."""
        idle, pool.idle = pool.idle, []
        await asyncio.gather(*(close_connection(c) for c in idle))
        self.open -= len(idle)
        self.grant()

    async def close(self) -> None:
        await asyncio.gather(*self._closing, return_exceptions=True)
        await asyncio.gather(*(self.close_idle(pool) for pool in list(self.pools)))
        self.pools.clear()

    def busy_message(self, pool: ReaderPool, wait_s: float) -> str:
        if pool.busy >= pool.max_size:
            return (
                f"all {pool.max_size} of this shop's reader connections stayed busy with its "
                f"other questions for {wait_s:.1f} s, so this query was not run. Nothing is "
                "wrong with it: try again in a moment."
            )
        return (
            f"all {self.limit} reader connections (BICHAT_READER_MAX_CONNECTIONS) stayed busy "
            f"with other shops' questions for {wait_s:.1f} s, so this query was not run. "
            "Nothing is wrong with it: try again in a moment."
        )


async def close_connection(connection: asyncpg.Connection) -> None:
    """Close gracefully (the server ends the session before the socket closes, so the backend
    has left pg_stat_activity when this returns); drop the socket if that does not work."""
    if connection.is_closed():
        return
    try:
        await connection.close(timeout=CLOSE_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.info("closing a reader connection failed (%r); dropping it", error)
        connection.terminate()


class ReaderPool:
    """One tenant's reader connections to one server, at most ``max_size``, within the budget.

    ``await pool.acquire()`` or ``async with pool.acquire() as connection``; give a connection
    back with ``await pool.release(connection)`` (it is reset first; a broken one is closed)."""

    def __init__(
        self,
        *,
        name: str,
        connect: Connect,
        reset: Reset,
        budget: ConnectionBudget,
        max_size: int,
        wait_s: float,
    ) -> None:
        self.name, self._connect, self._reset = name, connect, reset
        self.budget, self.max_size, self.wait_s = budget, max_size, wait_s
        self.idle: list[asyncpg.Connection] = []  # oldest first
        self.busy = 0  # lent out or being opened
        self.last_used = time.monotonic()

    def __repr__(self) -> str:
        return f"ReaderPool({self.name!r}, busy={self.busy}, idle={len(self.idle)})"

    @property
    def size(self) -> int:
        return self.busy + len(self.idle)

    def lend_idle(self) -> asyncpg.Connection:
        self.busy += 1
        return self.idle.pop()  # the most recently used: the oldest go idle for good

    async def connect(self) -> asyncpg.Connection:
        return await self._connect()

    def acquire(self, *, wait_s: float | None = None) -> Acquisition:
        return Acquisition(self, self.wait_s if wait_s is None else wait_s)

    async def take(self, wait_s: float, on_wait: OnWait | None = None) -> asyncpg.Connection:
        return await self.budget.take(self, wait_s=wait_s, on_wait=on_wait)

    async def release(self, connection: asyncpg.Connection) -> None:
        """Back to the idle list after a reset; closed (its room freed) if the reset fails."""
        if not connection.is_closed():
            try:
                if connection.is_in_transaction():
                    await connection.execute("ROLLBACK")
                await self._reset(connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.info("a reader connection could not be reset (%r); closing it", error)
                await close_connection(connection)
        self.budget.returned(self, connection)

    async def discard(self, connection: asyncpg.Connection) -> None:
        """A connection that must not be reused (its session was ended, its server is gone)."""
        await close_connection(connection)
        self.budget.returned(self, None)

    async def close(self) -> None:
        await self.budget.close_idle(self)
        self.budget.pools.discard(self)


class Acquisition:
    """``await`` it for a connection, or ``async with`` it to have it released after; then
    ``waited_s`` is how long it queued for one (a call's wait counts against its timeout)."""

    def __init__(self, pool: ReaderPool, wait_s: float) -> None:
        self.pool, self.wait_s = pool, wait_s
        self.connection: asyncpg.Connection | None = None
        self.waited_s = 0.0

    def __await__(self) -> Generator[Any, None, asyncpg.Connection]:
        return self.take().__await__()

    async def take(self) -> asyncpg.Connection:
        return await self.pool.take(self.wait_s, on_wait=self.waited)

    def waited(self, seconds: float) -> None:
        self.waited_s = seconds

    async def __aenter__(self) -> asyncpg.Connection:
        self.connection = await self.take()
        return self.connection

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.connection is not None:
            await self.pool.release(self.connection)
