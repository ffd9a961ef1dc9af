"""Every tool bichat has, in one list, and what the rest of bichat asks of them.

The agent builds its LangChain tools from ``TOOLS``; the turn stores calls with ``record``;
the chat, ``bichat ask`` and the admin transcript render calls with ``outcome_text``,
``shown_input`` and ``facts``; the question engine (no model) calls the tools
``offline_tools()`` names; the MCP server offers ``standalone_tools()``; it and the HTTP API run them with ``call``.
Adding a tool: its own module in ``app/tools/`` (one ``Tool``) and one line in ``TOOLS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.errors import BichatError, InvalidInput
from app.tools import (
    bundle_rules,
    explain_change,
    forecast_metric,
    make_chart,
    query_metrics,
    run_sql,
    search_products,
)
from app.tools.tool import Facts, Output, Shown, Tool, ToolCallRecord, ToolContext, ToolReply

TOOLS: tuple[Tool[Any], ...] = (
    query_metrics.TOOL,
    run_sql.TOOL,
    search_products.TOOL,
    bundle_rules.TOOL,
    explain_change.TOOL,
    forecast_metric.TOOL,
    make_chart.TOOL,
)
BY_NAME: dict[str, Tool[Any]] = {tool.name: tool for tool in TOOLS}

# Tool names, for code that must name one (evals, the question engine, tests).
RUN_SQL = run_sql.NAME
QUERY_METRICS = query_metrics.NAME
SEARCH_PRODUCTS = search_products.NAME
MAKE_CHART = make_chart.NAME
BUNDLE_RULES = bundle_rules.NAME
EXPLAIN_CHANGE = explain_change.NAME
FORECAST_METRIC = forecast_metric.NAME
SQL_TOOLS = tuple(tool.name for tool in TOOLS if tool.runs_sql)


@dataclass(frozen=True)
class ShownInput:
    """A call's input as shown to people: SQL as SQL, anything else as JSON."""

    text: str
    language: str  # "sql" or "json"


def tool_named(name: str | None) -> Tool[Any] | None:
    return BY_NAME.get(name or "")


def offline_tools() -> tuple[Tool[Any], ...]:
    """The tools the question engine (no language model) may call."""
    return tuple(tool for tool in TOOLS if tool.offline)


def standalone_tools() -> tuple[Tool[Any], ...]:
    """The tools a call of which makes sense on its own (MCP offers them)."""
    return tuple(tool for tool in TOOLS if tool.standalone)


def error_text(error: BichatError) -> str:
    return f"{error.code}: {error.message}"


def error_reply(error: BichatError) -> ToolReply:
    return ToolReply(json.dumps(error.to_dict(), ensure_ascii=False), error=error_text(error))


async def call(
    tool: Tool[Any], context: ToolContext, arguments: dict[str, Any]
) -> tuple[Output, list[Shown]]:
    """Run one call: its input checked by the tool's model (``InvalidInput`` naming each bad
    field), then ``run``; refusals raise their ``BichatError``."""
    try:
        checked = tool.input.model_validate(arguments)
    except ValidationError as error:
        raise InvalidInput(str(error), code="invalid_input") from None
    return await tool.run(context, checked)


async def invoke(tool: Tool[Any], context: ToolContext, arguments: dict[str, Any]) -> ToolReply:
    """Run one call. Bad input and refusals (``BichatError``) become an error reply the model
    can act on; anything else is a bug and propagates."""
    try:
        output, shown = await call(tool, context, arguments)
    except BichatError as error:
        return error_reply(error)
    content = json.dumps(output, ensure_ascii=False, default=str)
    return ToolReply(content, output=output, shown=shown)


def record(
    call_id: str, name: str, arguments: dict[str, Any], reply: ToolReply, elapsed_ms: float
) -> ToolCallRecord:
    """The call as the store keeps it: its output summarised by its tool."""
    tool = tool_named(name)
    summary = None
    if reply.output is not None:
        summary = tool.summarise(reply.output) if tool else reply.output
    return ToolCallRecord(call_id, name, arguments, summary, reply.error, elapsed_ms)


def outcome(name: str | None, output: Any) -> str | None:
    """What a successful call found, in a few words, if its tool says (``bichat ask``)."""
    tool = tool_named(name)
    return tool.outcome(output) if tool and isinstance(output, dict) else None


def outcome_text(name: str | None, output: Any, error: str | None, elapsed_ms: Any) -> str:
    """One line for a finished call in the chat (live and reopened)."""
    if error:
        return f"Error: {error}"
    return outcome(name, output) or f"done in {elapsed_ms} ms"


def shown_input(name: str | None, arguments: Any, output: Any = None) -> ShownInput:
    """SQL as SQL (what a stored call ran, when its output is given), anything else as JSON."""
    sql = sql_of(name, arguments, output)
    if sql is not None:
        return ShownInput(sql, "sql")
    return ShownInput(json.dumps(arguments, ensure_ascii=False, default=str), "json")


def sql_of(name: str | None, arguments: Any, output: Any = None) -> str | None:
    """The SQL a call ran (its tool's ``sql_ran``), else None."""
    tool = tool_named(name)
    if tool is None or not isinstance(arguments, dict):
        return None
    return tool.sql_ran(arguments, output if isinstance(output, dict) else None)


def facts(name: str | None, output: Any) -> Facts:
    """A stored call in the admin transcript (heading facts and lines)."""
    tool = tool_named(name)
    return tool.facts(output) if tool and isinstance(output, dict) else Facts()
