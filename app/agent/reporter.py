"""Agent middleware that reports every model call and tool call of a question as it ends
(events for the turn, which stores them), makes each model call within the turn's time
(``model_attempts``: retries, progress) and bounds failed tool calls."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.config import get_stream_writer
from langgraph.types import Command

from app.agent.context import AgentTurn
from app.agent.model_attempts import TurnTimeUp, call_model
from app.agent.pricing import cost_usd
from app.agent.providers.base import ModelCallFailed, Provider, describe_model_error
from app.answering.events import (
    AnswerEvent,
    ChartShown,
    ModelCall,
    ModelCalled,
    ToolFinished,
    ToolStarted,
)
from app.tools import registry
from app.tools.charts import Chart
from app.tools.tool import ToolCallRecord, ToolReply
from db.availability import UNAVAILABLE, is_unavailable

log = logging.getLogger(__name__)

TOO_MANY_ERRORS = (
    "{count} tool calls failed in this turn: stop calling tools and tell the owner what went wrong"
)


def model_call(ai: AIMessage, *, fallback_model: str, provider: str, latency_ms: int) -> ModelCall:
    usage: dict[str, Any] = dict(ai.usage_metadata or {})
    details: dict[str, Any] = usage.get("input_token_details") or {}
    model = ai.response_metadata.get("model_name") or fallback_model
    input_tokens: int | None = usage.get("input_tokens")
    output_tokens: int | None = usage.get("output_tokens")
    cached: int | None = details.get("cache_read")
    cost = None
    if input_tokens is not None:
        cost = cost_usd(
            model,
            provider=provider,
            input_tokens=input_tokens or 0,
            output_tokens=output_tokens or 0,
            cached_input_tokens=cached or 0,
            cache_write_tokens=details.get("cache_creation") or 0,
        )
    return ModelCall(
        model=model,
        content=ai.text,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached,
        cost_usd=cost,
        latency_ms=latency_ms,
        tool_calls=list(ai.tool_calls),  # type: ignore[arg-type]
    )


class CallReporter(AgentMiddleware):
    """Reports each call of the running question (its ``AgentTurn`` is the runtime context).

    One instance per agent; ``model_name`` names the model when a failed call reported none;
    ``provider`` maps its errors and prices its calls."""

    def __init__(self, *, model_name: str, provider: Provider) -> None:
        super().__init__()
        self.model_name, self.provider = model_name, provider

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        turn = cast(AgentTurn, request.runtime.context)
        started = time.perf_counter()
        try:
            response = await call_model(
                request, handler, turn=turn, provider=self.provider, report=emit
            )
        except TurnTimeUp as up:
            raise ModelCallFailed(up.message, model=self.model_name, latency_ms=ms(started)) from up
        except Exception as error:
            text = describe_model_error(error, self.provider)
            raise ModelCallFailed(text, model=self.model_name, latency_ms=ms(started)) from error
        ai = next(m for m in reversed(response.result) if isinstance(m, AIMessage))
        call = model_call(
            ai, fallback_model=self.model_name, provider=self.provider.name, latency_ms=ms(started)
        )
        emit(ModelCalled(call))
        return response

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        turn = cast(AgentTurn, request.runtime.context)
        call = request.tool_call
        emit(ToolStarted(call["id"] or "", call["name"], call["args"]))
        started = time.perf_counter()
        if turn.tool_errors >= turn.max_tool_errors:
            message = TOO_MANY_ERRORS.format(count=turn.tool_errors)
            result: ToolMessage | Command[Any] = refusal(call, "too_many_errors", message)
        else:
            try:
                result = await handler(request)
            except Exception as crash:  # the model hears of it (no driver text), the turn goes on
                result = crashed(call, crash)
        record = record_of(call, result, elapsed_ms=ms(started))
        turn.tool_errors += record.error is not None
        emit(ToolFinished(record))
        reply = result.artifact if isinstance(result, ToolMessage) else None
        for shown in reply.shown if isinstance(reply, ToolReply) else []:
            if isinstance(shown, Chart):
                emit(ChartShown(shown))
        return result


def record_of(
    call: Any, result: ToolMessage | Command[Any], *, elapsed_ms: float
) -> ToolCallRecord:
    """The stored record of a call: from its reply, or from an error LangChain or we made."""
    reply = result.artifact if isinstance(result, ToolMessage) else None
    if not isinstance(reply, ToolReply):
        content = str(result.content) if isinstance(result, ToolMessage) else ""
        failed = isinstance(result, ToolMessage) and result.status == "error"
        reply = ToolReply(content, error=error_of(content) if failed else None)
        if not failed:
            reply.output = {"text": content[:500]}
    return registry.record(call["id"] or "", call["name"], call["args"], reply, elapsed_ms)


def error_of(content: str) -> str:
    """The stored error of a failed call: ``code: message`` of our errors, else the text."""
    try:
        error = json.loads(content)["error"]
        return f"{error.get('code', 'error')}: {error.get('message', '')}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return content[:2000]


def crashed(call: Any, crash: Exception) -> ToolMessage:
    """A call that failed outside the tool's own errors: the database away, or a bug (logged)."""
    if is_unavailable(crash):
        return refusal(call, "database_unavailable", f"the shop's database: {UNAVAILABLE}")
    log.error("tool %s crashed", call["name"], exc_info=crash)
    return refusal(call, "tool_crashed", "the tool failed on our side (the error is logged)")


def refusal(call: Any, code: str, message: str) -> ToolMessage:
    content = json.dumps({"error": {"code": code, "message": message}})
    return ToolMessage(content=content, tool_call_id=call["id"], name=call["name"], status="error")


def ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def emit(event: AnswerEvent) -> None:
    """Send an event to ``astream(stream_mode="custom")`` readers, if any."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # not running inside a graph
        return
    writer(event)
