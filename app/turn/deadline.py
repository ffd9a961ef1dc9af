"""A turn's one deadline (``BICHAT_TURN_TIMEOUT_S``): the answerer's events are read in a task
of their own, so the turn stops waiting when its time is up, wherever the answerer is (a model
that never answers, a slow tool). The answerer gets the deadline too (``Question.deadline``)
and fits its own retries into it; this is the net below that."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from app.answering.events import AnswerEvent

GRACE_S = 1.0  # the answerer's own end at the deadline (with its words) comes first


class TurnTimedOut(Exception):
    """The turn's time was up before its answerer ended."""


@dataclass(frozen=True)
class Raised:
    error: Exception


END = object()


async def within_deadline(
    events: AsyncGenerator[AnswerEvent, None], *, deadline: float | None
) -> AsyncGenerator[AnswerEvent, None]:
    """``events`` as they come, until ``deadline`` (``time.monotonic()``) plus ``GRACE_S``;
    then ``TurnTimedOut``, and the answerer is stopped. Close this generator when done with it
    (``aclosing``): that stops the answerer too."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1)  # the answerer runs one ahead

    async def pump() -> None:
        try:
            async with aclosing(events) as source:
                async for event in source:
                    await queue.put(event)
        except Exception as error:  # the turn decides what a failure means
            await queue.put(Raised(error))
        else:
            await queue.put(END)

    task = asyncio.create_task(pump())
    try:
        while True:
            left = None if deadline is None else deadline + GRACE_S - time.monotonic()
            try:
                item = await asyncio.wait_for(queue.get(), left)
            except TimeoutError:
                raise TurnTimedOut() from None
            if item is END:
                return
            if isinstance(item, Raised):
                raise item.error
            yield item  # type: ignore[misc]  # everything else in the queue is an event
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
