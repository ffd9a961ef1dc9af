"""Stopping a process without losing a question: the turns it runs, and draining them.

Every turn is admitted (``Drain.admit``) in the task that consumes it (the chat's message
handler, an API request). When the process is told to stop (``SIGTERM``: a deploy, Kubernetes
scaling down), ``drain`` refuses new turns (``ServerDraining``, before the question is
stored, so the user can ask again elsewhere), lets the running turns finish for up to
``BICHAT_DRAIN_TIMEOUT_S``, then cancels the rest: each cancelled turn stores itself as
interrupted, its question kept (``app.turn.runner``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from app import metrics
from app.errors import BichatError

log = logging.getLogger(__name__)
CANCEL_WAIT_S = 10.0  # how long cancelled turns get to store their interruption


class ServerDraining(BichatError):
    """This process is stopping and takes no new question (ask again: another one answers)."""

    code = "draining"


class Drain:
    def __init__(self) -> None:
        self.draining = False
        self.running: dict[asyncio.Task[object], int] = {}  # tasks running turns, how many
        self.changed = asyncio.Event()

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Around one turn, in the task that runs it; ``ServerDraining`` while draining."""
        if self.draining:
            metrics.TURNS_REFUSED.labels("draining").inc()
            raise ServerDraining(
                "this server is restarting and takes no new question; your question was not "
                "asked. Send it again in a moment: another server answers it."
            )
        task = asyncio.current_task()
        assert task is not None, "a turn runs in a task"
        self.running[task] = self.running.get(task, 0) + 1
        try:
            yield
        finally:
            self.running[task] -= 1
            if not self.running[task]:
                del self.running[task]
            self.changed.set()

    async def drain(self, *, timeout_s: float) -> int:
        """Refuse new turns, wait up to ``timeout_s`` for the running ones, cancel the rest
        (they store themselves as interrupted); how many were cancelled."""
        self.draining = True
        metrics.DRAINING.set(1)
        if self.running:
            log.info("draining: waiting up to %ss for %d turn(s)", timeout_s, len(self.running))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.running:
                    self.changed.clear()
                    await self.changed.wait()
        left = list(self.running)
        for task in left:
            task.cancel()
        if left:
            log.warning("draining: %d turn(s) still running were stored as interrupted", len(left))
            await asyncio.wait(left, timeout=CANCEL_WAIT_S)
        return len(left)
