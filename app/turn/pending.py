"""Rows of turns that the database could not take when they happened (it was away for longer
than ``BICHAT_DATABASE_RETRY_S``), written in order once it is back: the answer that could not
be saved, the note that closed its turn, a question that was stored after all and must be
closed as not answered. One per process, in the background.

A process that ends before the database returns loses what is still here, but nothing is lost
for good: the question of each such turn is stored and its turn is open, and the next start
closes it as interrupted (``app.turn.presence``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.errors import DatabaseUnavailable
from app.turn.writer import TurnWriter

log = logging.getLogger(__name__)

FLUSH_RETRY_S = 30.0  # each attempt waits this long for the database before the next round


class PendingWrites:
    def __init__(self) -> None:
        self.writers: list[TurnWriter] = []
        self.task: asyncio.Task[None] | None = None

    def keep(self, writer: TurnWriter) -> None:
        """Write the writer's waiting rows as soon as the database takes them."""
        if writer not in self.writers:
            self.writers.append(writer)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.drain())

    async def drain(self) -> None:
        while self.writers:
            writer = self.writers[0]
            try:
                await writer.flush(budget_s=FLUSH_RETRY_S)
            except DatabaseUnavailable:
                continue  # still away (flush waited for it): the next round
            except Exception:  # the session was deleted meanwhile, say: nothing to keep it for
                log.exception("could not store the waiting rows of session %s", writer.session_id)
            self.writers.pop(0)
            log.info("stored the rows of session %s that had waited", writer.session_id)

    async def close(self, *, wait_s: float) -> None:
        """Give the waiting rows ``wait_s`` seconds to reach the database, then stop."""
        if self.task is None:
            return
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self.task), wait_s)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        if self.writers:
            log.warning(
                "%d turn(s) could not be stored before exit; the next start closes them",
                len(self.writers),
            )
