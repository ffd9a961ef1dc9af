"""This process as an instance that answers questions, and the turns that dead instances left
open, closed as interrupted.

A process that is killed (``kill -9``, a crash, the machine) cannot write its turns' last rows.
So each question is stored together with the instance answering it (``open_turns``), and:

- every process registers itself (``app_instances``: host, pid, the process's start time) and
  holds an advisory lock on its id on a connection of its own for as long as it lives (the
  server drops the lock when the process dies), beating ``seen_at`` every ``HEARTBEAT_S``;
- at start, and every ``SWEEP_EVERY_S``, it takes the lock of every other instance that nobody
  holds and closes the open turns of those that are gone: on this host, when their process is
  gone (or its pid belongs to a newer process); on another host, when their heartbeat is older
  than ``STALE_S`` and the database has been up for ``RESTART_GRACE_S`` (a restart of the
  database drops every lock: live instances take theirs again within seconds).

A live instance's turns are never closed by another: its lock is held, or its process is
alive on this host, or its heartbeat is fresh. (One cut off from the database for longer than
``STALE_S`` may find its turns closed when it returns.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

import asyncpg
import psutil
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store import instances
from app.store.conversations import autocommit
from app.turn.writer import close_abandoned
from db.availability import is_unavailable
from db.engine import connect_raw

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
SWEEP_EVERY_S = 30.0
STALE_S = 60.0
RESTART_GRACE_S = 15.0
HOSTNAME = socket.gethostname()


def process_gone(pid: int, started_at: float) -> bool:
    """True when no process ``pid`` started at ``started_at`` (the OS's time) runs here."""
    try:
        created = float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        return True
    return abs(created - started_at) > 1.0


def gone(instance: instances.Instance) -> bool:
    """Whether an instance whose lock nobody holds is gone (see the module's docstring)."""
    if instance.hostname == HOSTNAME:
        return process_gone(instance.pid, instance.process_started_at)
    return instance.server_up_s > RESTART_GRACE_S and instance.seen_s_ago > STALE_S


class Presence:
    """``await Presence(engine, url).start()``; ``instance_id`` goes to the turns' writers;
    ``await close()`` at exit."""

    def __init__(self, engine: AsyncEngine, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self.engine, self.url, self.connect_timeout_s = engine, url, connect_timeout_s
        self.instance_id: int | None = None
        self.connection: asyncpg.Connection | None = None  # holds the lock
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Presence:
        """Register, close what dead instances left open, and keep beating."""
        self.connection = await connect_raw(self.url, timeout_s=self.connect_timeout_s)
        me = psutil.Process(os.getpid())
        self.instance_id = await instances.register(
            self.connection, hostname=HOSTNAME, pid=me.pid, process_started_at=me.create_time()
        )
        await self.sweep()
        self.task = asyncio.get_running_loop().create_task(self.keep_beating())
        return self

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        with contextlib.suppress(Exception):  # the database may be away: the next start cleans
            if self.instance_id is not None:
                async with autocommit(self.engine) as connection:
                    await instances.forget(connection, self.instance_id)
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()

    async def sweep(self) -> int:
        """Close the open turns of instances that are gone; how many were closed."""
        closed = 0
        async with autocommit(self.engine) as connection:
            candidates = await instances.unlocked_instances(connection, me=self.instance_id)
            try:
                for instance in filter(gone, candidates):
                    for turn in await instances.open_turns_of(connection, instance.id):
                        await close_abandoned(self.engine, turn)
                        closed += 1
                    await instances.forget(connection, instance.id)
            finally:
                await instances.release(connection, [c.id for c in candidates])
        if closed:
            log.warning("closed %d turn(s) left open by stopped processes as interrupted", closed)
        return closed

    async def settle(self, session_id: uuid.UUID | str) -> int:
        """Before a conversation is shown or continued here: when another instance has a turn
        of it open, sweep now rather than at the next round, so that a user whose instance
        died and who reconnected here sees the cut turn closed as interrupted, and asks on
        after it. How many turns were closed (0 while that instance lives)."""
        async with self.engine.connect() as connection:
            waiting = await instances.open_elsewhere(connection, session_id, me=self.instance_id)
        return await self.sweep() if waiting else 0

    async def keep_beating(self) -> None:
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.beat()
                if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                    last_sweep = time.monotonic()
                    await self.sweep()
            except Exception as error:  # the database away: again at the next beat
                if not is_unavailable(error):
                    log.exception("the instance's heartbeat failed")

    async def beat(self) -> None:
        """Beat on the lock's connection; after a reconnect (the database restarted), take the
        lock again first."""
        assert self.instance_id is not None
        if self.connection is None or self.connection.is_closed():
            self.connection = await connect_raw(self.url, timeout_s=self.connect_timeout_s)
            if not await instances.hold(self.connection, self.instance_id):
                await self.connection.close()  # someone holds it now: next time
                self.connection = None
                return
        await instances.beat(self.connection, self.instance_id)
