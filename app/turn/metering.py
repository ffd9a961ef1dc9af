"""A turn's figures for ``/metrics`` (``app.metrics``): its outcome, duration, time to the first
streamed token, model tokens and cost, and tool calls, recorded when the turn's events end
(answered, failed, or interrupted: the channel stopped reading or the process is draining)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from app import metrics
from app.answering.events import Token
from app.turn.events import Answered, Failed, TurnEvent
from app.turn.result import TurnLog, Usage

INTERRUPTED = "interrupted"


async def metered(
    events: AsyncIterator[TurnEvent], *, channel: str, log: TurnLog, started: float
) -> AsyncGenerator[TurnEvent, None]:
    """``events`` passed through, counted; ``started`` is ``time.perf_counter()`` when the
    question arrived."""
    first_token: float | None = None
    outcome, path = INTERRUPTED, "unknown"
    metrics.TURNS_RUNNING.inc()
    try:
        async with aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, Token) and first_token is None:
                    first_token = time.perf_counter() - started
                if isinstance(event, Answered | Failed):
                    path = event.result.path
                    outcome = outcome_of(event)
                yield event
    except (asyncio.CancelledError, GeneratorExit):
        outcome = INTERRUPTED
        raise
    finally:
        metrics.TURNS_RUNNING.dec()
        record(channel, path, outcome, time.perf_counter() - started, first_token, log)


def outcome_of(end: Answered | Failed) -> str:
    """failed (no answer), cut_short (an answer cut short by the turn's limits), answered."""
    if isinstance(end, Failed):
        return "failed"
    return "answered" if end.result.error is None else "cut_short"


def record(
    channel: str, path: str, outcome: str, seconds: float, first_token_s: float | None, log: TurnLog
) -> None:
    metrics.TURNS.labels(channel, path, outcome).inc()
    metrics.TURN_SECONDS.labels(path).observe(seconds)
    if first_token_s is not None:
        metrics.FIRST_TOKEN_SECONDS.labels(path).observe(first_token_s)
    model_used(log.usage)
    for call in log.tool_calls:
        metrics.TOOL_CALLS.labels(call.name, "ok" if call.error is None else "error").inc()


def model_used(usage: Usage) -> None:
    if not usage.model_calls:
        return
    model = usage.model or "unknown"
    metrics.MODEL_CALLS.labels(model).inc(usage.model_calls)
    for kind, count in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cached_input", usage.cached_input_tokens),
    ):
        metrics.MODEL_TOKENS.labels(model, kind).inc(count)
    if usage.cost_usd is None:
        metrics.MODEL_UNPRICED.labels(model).inc()
    else:
        metrics.MODEL_COST.labels(model).inc(float(usage.cost_usd))
