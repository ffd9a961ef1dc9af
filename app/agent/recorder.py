"""Agent middleware that writes every model call and tool call of a turn to the conversation
store as it happens, bounds failed tool calls, and reports progress to the stream."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.config import get_stream_writer
from langgraph.types import Command
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agent.model_errors import ModelCallFailed, describe_model_error
from app.agent.pricing import cost_usd
from app.agent.turn import ToolCallRecord, TurnContext
from app.store.conversations import Message, add_message

SUMMARY_ROWS = 5


def model_message(ai: AIMessage, *, fallback_model: str, latency_ms: int) -> Message:
    usage: dict[str, Any] = dict(ai.usage_metadata or {})
    details: dict[str, Any] = usage.get("input_token_details") or {}
    model = ai.response_metadata.get("model_name") or fallback_model
    input_tokens: int | None = usage.get("input_tokens")
    output_tokens: int | None = usage.get("output_tokens")
    cached: int | None = details.get("cache_read")
    cost = None
    if input_tokens is not None or model == "offline":
        cost = cost_usd(
            model,
            input_tokens=input_tokens or 0,
            output_tokens=output_tokens or 0,
            cached_input_tokens=cached or 0,
        )
    return Message(
        role="assistant",
        content=ai.text,
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached,
        cost_usd=cost,
        latency_ms=latency_ms,
        tool_input={"tool_calls": ai.tool_calls} if ai.tool_calls else None,
    )


def keys_of_results() -> tuple[str, ...]:
    return ("result_id", "columns", "row_count", "truncated", "elapsed_ms")


def summarize_output(name: str, content: str) -> tuple[dict[str, Any] | None, str | None]:
    """A short summary of a tool's JSON output (columns, row count, first rows), and its error."""
    try:
        data = json.loads(content)
    except ValueError:
        return {"text": content[:500]}, None
    if not isinstance(data, dict):
        return {"value": data}, None
    if "error" in data:
        error = data["error"]
        return None, f"{error.get('code', 'error')}: {error.get('message', '')}"
    if name == "run_sql":
        summary = {k: data.get(k) for k in keys_of_results()}
        return {**summary, "rows": data.get("rows", [])[:SUMMARY_ROWS]}, None
    if name == "query_metrics":  # a run_sql summary, with what the semantic layer adds
        added = ("sql", "interpretation", "partial", "period")
        summary = {k: data.get(k) for k in (*keys_of_results(), *added)}
        return {**summary, "rows": data.get("rows", [])[:SUMMARY_ROWS]}, None
    if name == "search_products":
        results = data.get("results", [])
        return {"results_count": len(results), "skus": [r.get("sku") for r in results[:10]]}, None
    return data, None


class TurnRecorder(AgentMiddleware):
    """Stores each call of the running turn (found in the runtime context, a ``TurnContext``).

    One instance per agent; ``model_name`` names the model when a failed call reported none."""

    def __init__(self, *, engine: AsyncEngine, model_name: str) -> None:
        super().__init__()
        self.engine, self.model_name = engine, model_name

    async def store(self, turn: TurnContext, message: Message) -> int:
        message_id = await add_message(
            self.engine, session_id=turn.session_id, tenant_id=turn.tenant.id, message=message
        )
        turn.log.last_message_id = message_id
        return message_id

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        turn = cast(TurnContext, request.runtime.context)
        started = time.perf_counter()
        try:
            response = await handler(request)
        except Exception as error:
            text = describe_model_error(error)
            failed = Message(
                role="assistant", model=self.model_name, error=text, latency_ms=ms(started)
            )
            await self.store(turn, failed)
            raise ModelCallFailed(text) from error
        ai = next(m for m in reversed(response.result) if isinstance(m, AIMessage))
        message = model_message(ai, fallback_model=self.model_name, latency_ms=ms(started))
        await self.store(turn, message)
        turn.log.usage.add(message)
        return response

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        turn = cast(TurnContext, request.runtime.context)
        call = request.tool_call
        emit({"type": "tool_start", "id": call["id"], "name": call["name"], "input": call["args"]})
        started = time.perf_counter()
        if turn.log.tool_errors >= turn.max_tool_errors:
            content = json.dumps(
                {
                    "error": {
                        "code": "too_many_errors",
                        "message": f"{turn.log.tool_errors} tool calls failed in this turn: "
                        "stop calling tools and tell the owner what went wrong",
                    }
                }
            )
            result: ToolMessage | Command[Any] = error_message(call, content)
        else:
            try:
                result = await handler(request)
            except Exception as crash:  # a bug in a tool: the model hears of it, the turn goes on
                message = f"{type(crash).__name__}: {crash}"
                content = json.dumps({"error": {"code": "tool_crashed", "message": message}})
                result = error_message(call, content)
        content = str(result.content) if isinstance(result, ToolMessage) else ""
        summary, error = summarize_output(call["name"], content)
        if error is None and isinstance(result, ToolMessage) and result.status == "error":
            summary, error = None, content[:2000]
        record = ToolCallRecord(
            call["id"] or "", call["name"], call["args"], summary, error, ms(started)
        )
        turn.log.tool_errors += error is not None
        turn.log.tool_calls.append(record)
        await self.store(
            turn,
            Message(
                role="tool",
                tool_name=call["name"],
                tool_input=call["args"],
                tool_output=summary,
                error=error,
                latency_ms=round(record.elapsed_ms),
            ),
        )
        emit({"type": "tool_end", "record": record})
        return result


def error_message(call: Any, content: str) -> ToolMessage:
    return ToolMessage(content=content, tool_call_id=call["id"], name=call["name"], status="error")


def ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def emit(event: dict[str, Any]) -> None:
    """Send a progress event to ``astream(stream_mode="custom")`` readers, if any."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # not running inside a graph
        return
    writer(event)
