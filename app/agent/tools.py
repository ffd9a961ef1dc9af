"""The agent's LangChain tools, built from the registry (``app.tools.registry``): one generic
adapter, so a new tool needs nothing here. Each call finds this question's ``ToolContext`` in
the runtime context; the reply (output, error, what it shows) travels as the message's
artifact to the reporter middleware."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_type_hints

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool

from app.agent.context import AgentTurn
from app.tools import registry
from app.tools.tool import Tool, ToolReply


def langchain_tool(tool: Tool[Any]) -> BaseTool:
    async def call(runtime: ToolRuntime[AgentTurn], **arguments: Any) -> tuple[str, ToolReply]:
        reply = await registry.invoke(tool, runtime.context.tools, arguments)
        return reply.content, reply

    # LangChain reads these hints on every call; as strings (future annotations) they would be
    # evaluated, and compiled, each time: resolve them once.
    call.__annotations__ = get_type_hints(call)
    return StructuredTool.from_function(
        coroutine=call,
        name=tool.name,
        description=tool.description,
        args_schema=tool.input,
        response_format="content_and_artifact",
    )


def build_agent_tools(tools: Iterable[Tool[Any]] = registry.TOOLS) -> list[BaseTool]:
    return [langchain_tool(tool) for tool in tools]
