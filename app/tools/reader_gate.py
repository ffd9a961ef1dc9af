"""Who gets one of a shop's reader connections next: a bounded, fair wait.

A shop has a few reader connections (``SqlExecutor``'s pool). Without a gate, a handful of users
whose questions run slow SQL hold all of them, and everyone else of the shop waits in one
unbounded queue behind them. The gate hands the connections out instead:

- **Bounded.** A caller waits at most ``wait_s`` (the SQL tool gives what is left of the
  statement timeout: the wait counts against it); then ``ShopBusy``, and nothing was run.
- **Fair between requesters** (a user, else a conversation). A free connection goes to the
  waiting requester that used the shop's connections least lately (connection-seconds, halving
  every ``HALF_LIFE_S``; running calls count as they run), then to the one waiting longest.
  One requester holds at most half of the connections at once.
- **Connections kept for light users.** Requesters that used more than ``HEAVY_S`` lately
  (or ``heavy_s``: a query that ran into the statement timeout counts)
  (slow queries) share all connections but ``reserve`` (by default they share a quarter of
  them, at least one); the reserved ones stay for the others, whose quick queries then neither
  wait behind a storm of slow ones nor compete for the database server's CPU with more slow
  queries than it has cores to spare (each runs flat out until the statement timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from app.errors import BichatError

HALF_LIFE_S = 30.0  # how fast past use is forgotten
HEAVY_S = 2.0  # connection-seconds lately above which a requester is heavy


class ShopBusy(BichatError):
    """The shop's reader connections stayed busy with other questions for the whole wait."""

    code = "shop_busy"


def decay(elapsed_s: float) -> float:
    """What is left of a second of use after ``elapsed_s``."""
    return math.exp(-elapsed_s * math.log(2) / HALF_LIFE_S)


@dataclass
class Usage:
    """One requester's recent use of the connections."""

    past_s: float = 0.0  # connection-seconds of finished calls, decayed to ``updated``
    updated: float = field(default_factory=time.monotonic)
    running: list[float] = field(default_factory=list)  # start times of calls holding one

    def seconds(self, now: float) -> float:
        decayed = self.past_s * decay(now - self.updated)
        return decayed + sum(now - started for started in self.running)

    def finish(self, started: float, now: float) -> None:
        self.past_s = self.past_s * decay(now - self.updated) + now - started
        self.updated = now
        self.running.remove(started)


@dataclass(eq=False)
class Waiter:
    requester: str
    since: float
    granted: asyncio.Future[float]  # the start time of its use of a connection


class FairGate:
    """``async with gate.slot(requester, wait_s=...) as waited_s:`` around the use of one of
    ``size`` connections; ``ShopBusy`` when none came within ``wait_s``."""

    def __init__(
        self, size: int, *, reserve: int | None = None, heavy_s: float | None = None
    ) -> None:
        """``heavy_s``: the use above which a requester is heavy, at most ``HEAVY_S`` (the SQL
        tool gives half its statement timeout: one query that ran into it makes its
        requester heavy)."""
        self.size = size
        self.heavy_limit_s = HEAVY_S if heavy_s is None else min(HEAVY_S, heavy_s)
        self.reserve = min(size - 1, size - max(1, size // 4) if reserve is None else reserve)
        self.per_requester = max(1, size // 2)
        self.usage: dict[str, Usage] = {}
        self.waiting: list[Waiter] = []

    @property
    def busy(self) -> int:
        return sum(len(usage.running) for usage in self.usage.values())

    def heavy(self, requester: str, now: float) -> bool:
        usage = self.usage.get(requester)
        return usage is not None and usage.seconds(now) > self.heavy_limit_s

    def may_take(self, requester: str, now: float) -> bool:
        usage = self.usage.setdefault(requester, Usage(updated=now))
        if self.busy >= self.size or len(usage.running) >= self.per_requester:
            return False
        if not self.heavy(requester, now):
            return True
        held_by_heavy = sum(
            len(u.running) for name, u in self.usage.items() if self.heavy(name, now)
        )
        return held_by_heavy < self.size - self.reserve

    def grant(self) -> None:
        """Give free connections to the waiters whose turn it is."""
        now = time.monotonic()
        while self.waiting and self.busy < self.size:
            eligible = [w for w in self.waiting if self.may_take(w.requester, now)]
            if not eligible:
                return
            chosen = min(eligible, key=lambda w: (self.usage[w.requester].seconds(now), w.since))
            self.waiting.remove(chosen)
            self.usage[chosen.requester].running.append(now)
            chosen.granted.set_result(now)

    def release(self, requester: str, started: float) -> None:
        now = time.monotonic()
        self.usage[requester].finish(started, now)
        for name, usage in list(self.usage.items()):  # forget who has been idle for long
            if not usage.running and usage.seconds(now) < 0.01:
                del self.usage[name]
        self.grant()

    async def acquire(self, requester: str, *, wait_s: float) -> float:
        """Wait for a connection (at most ``wait_s``); the start time of its use."""
        waiter = Waiter(requester, time.monotonic(), asyncio.get_running_loop().create_future())
        self.waiting.append(waiter)
        self.grant()
        try:
            async with asyncio.timeout(max(wait_s, 0.0)):
                return await asyncio.shield(waiter.granted)
        except TimeoutError:
            if waiter.granted.done():  # granted as the time ran out: take it
                return waiter.granted.result()
            self.waiting.remove(waiter)
            raise ShopBusy(self.busy_message(wait_s)) from None
        except asyncio.CancelledError:
            if waiter in self.waiting:
                self.waiting.remove(waiter)
            elif waiter.granted.done():  # granted as it was cancelled: hand it on
                self.release(requester, waiter.granted.result())
            raise

    async def turn(self, requester: str, *, wait_s: float) -> Turn:
        """``acquire`` as a ``Turn`` that whoever gives the connection back ends."""
        return Turn(self, requester, await self.acquire(requester, wait_s=wait_s))

    def busy_message(self, wait_s: float) -> str:
        return (
            f"the shop's database is busy: all {self.size} of its connections stayed in use by "
            f"other questions for {wait_s:.1f} s, so this query was not run. Nothing is wrong "
            "with it: try again in a moment (the user may be told the shop is busy right now)."
        )

    @contextlib.asynccontextmanager
    async def slot(self, requester: str, *, wait_s: float) -> AsyncIterator[float]:
        """Hold one connection's turn; yields how long the wait was, in seconds."""
        asked = time.monotonic()
        started = await self.acquire(requester, wait_s=wait_s)
        try:
            yield time.monotonic() - asked
        finally:
            self.release(requester, started)


@dataclass(eq=False)
class Turn:
    """A requester's use of one of the gate's connections. It ends once: when the connection it
    used is back (that may be a background task's job: ``handed_on``), or when the call ends
    without having handed it on."""

    gate: FairGate
    requester: str
    started: float
    handed_on: bool = False
    ended: bool = False

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.gate.release(self.requester, self.started)
