"""One model call within the turn's time: attempts (the first and its retries, each with its own
timeout, none longer than the turn has left), a pause between them, and word for the user while
it waits (``StillWorking``: the model, which attempt, how long so far).

The clients make no retries of their own (``providers.base.timeout_and_retries``): a provider
that never answers used to keep a user 181 s without a word (three attempts of 60 s)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from langchain.agents.middleware import ModelRequest, ModelResponse

from app.agent.context import AgentTurn
from app.agent.providers.base import Provider, worth_retrying
from app.answering.events import AnswerEvent, StillWorking

PROGRESS_EVERY_S = 5.0  # while an attempt has nothing back, say so this often
FIRST_PAUSE_S = 0.5  # between attempts, doubling
MAX_PAUSE_S = 4.0
WHAT = "the model"
TIME_UP = (
    "No answer within {limit:g} s, the time one question may take: the model provider is too "
    "slow right now. Ask again in a moment, or ask a simpler question."
)

Handler = Callable[[ModelRequest], Awaitable[ModelResponse]]
Report = Callable[[AnswerEvent], None]


class TurnTimeUp(Exception):
    """The turn's deadline passed while the model was still being waited for."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(TIME_UP.format(limit=limit_s))
        self.message = TIME_UP.format(limit=limit_s)


def seconds_left(turn: AgentTurn) -> float | None:
    return None if turn.deadline is None else turn.deadline - time.monotonic()


async def call_model(
    request: ModelRequest, handler: Handler, *, turn: AgentTurn, provider: Provider, report: Report
) -> ModelResponse:
    """The model's response, after up to ``turn.model_attempts`` attempts; the last failure
    (or ``TurnTimeUp``) when none succeeded."""
    started = time.monotonic()
    attempts = turn.model_attempts if provider.retries else 1
    pause = FIRST_PAUSE_S
    attempt = 1
    while True:
        left = seconds_left(turn)
        if left is not None and left <= 0:
            raise TurnTimeUp(turn.time_limit_s)
        timeout_s = turn.model_timeout_s if left is None else min(turn.model_timeout_s, left)
        progress = Progress(report, attempt, attempts, started)
        try:
            return await within(handler(request), timeout_s=timeout_s, progress=progress)
        except Exception as error:
            left = seconds_left(turn)
            if left is not None and left <= 0:
                raise TurnTimeUp(turn.time_limit_s) from error
            if attempt == attempts or not worth_retrying(error, provider):
                raise
            if left is not None and left <= pause:
                raise TurnTimeUp(turn.time_limit_s) from error
        await asyncio.sleep(pause)
        pause, attempt = min(pause * 2, MAX_PAUSE_S), attempt + 1
        progress.tell(attempt)  # a new attempt: the user sees it at once


class Progress:
    def __init__(self, report: Report, attempt: int, attempts: int, started: float) -> None:
        self.report, self.attempt, self.attempts, self.started = report, attempt, attempts, started

    def tell(self, attempt: int | None = None) -> None:
        waited = round(time.monotonic() - self.started, 1)
        self.report(StillWorking(WHAT, attempt or self.attempt, self.attempts, waited))


async def within(
    call: Awaitable[ModelResponse], *, timeout_s: float, progress: Progress
) -> ModelResponse:
    """The call's result within ``timeout_s`` (else ``TimeoutError``), telling ``progress``
    every ``PROGRESS_EVERY_S`` that it is still waited for."""
    task = asyncio.ensure_future(call)
    limit = time.monotonic() + timeout_s
    try:
        while True:
            left = limit - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {timeout_s:.1f} s")
            done, _ = await asyncio.wait({task}, timeout=min(PROGRESS_EVERY_S, left))
            if done:
                return task.result()
            if time.monotonic() < limit:
                progress.tell()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
