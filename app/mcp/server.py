"""The MCP server's contents, one channel like the chat: it translates, and everything it runs
goes through the registry's tools, the turn and the store as the principal of the call.

- **Tools**: every registry tool whose calls stand on their own (``Tool.standalone``:
  ``query_metrics``, ``run_sql``, ``search_products``, ``bundle_rules``; a tool added to
  the registry with the flag appears here with no more code), and two of the channel's own:
  ``ask`` (a turn of the agent, stored with the channel ``mcp``) and ``list_metrics`` (the
  semantic layer's catalogue with the shop's values).
  Results are JSON (structured content and its text) and carry the SQL that ran and, for
  semantic queries, the interpretation; refusals come back as tool errors with bichat's
  ``code`` (the guard's rule for refused SQL).
- **Resources**: ``bichat://schema`` (the tables and columns the SQL tool may read, with
  their meaning: what the agent reads) and ``bichat://semantic-model`` (metrics, dimensions,
  periods and the shop's values, JSON).
- **Prompts**: starter questions (``revenue_overview``, ``top_products``, ``bundle_ideas``).

Who a call acts as is asked of ``who`` at every call (a token re-read per HTTP request, or
the stdio user re-read), so a revoked token or a deactivated user stops at the next call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from pydantic import AnyUrl, BaseModel, ConfigDict, Field

from app.errors import BichatError, NotFound
from app.semantic.catalogue import catalogue
from app.store.tokens import Principal
from app.tools import registry
from app.tools.tool import Tool, ToolContext
from app.turn.events import Answered, Failed
from app.turn.runner import MAX_QUESTION_CHARS
from app.turn.runtime import AgentRuntime
from app.turn.wire import result_json

CHANNEL = "mcp"
Who = Callable[[], Awaitable[Principal]]
AskLimit = Callable[[Principal], Awaitable[None]]
INSTRUCTIONS = (
    "bichat answers questions about one online shop's data (orders, revenue, products, "
    "customers, reviews, bundles). Prefer query_metrics (see list_metrics) for numbers; "
    "run_sql for what metrics cannot express (read-only PostgreSQL over the tables in the "
    "bichat://schema resource); search_products to find products; bundle_rules for products "
    "bought together; ask to let bichat's own agent answer a question in words. State the "
    "interpretation a result carries; show its SQL when asked how a number was computed."
)


class AskInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="In words.")
    conversation_id: str | None = Field(
        default=None, description="Continue this conversation (the id of an earlier answer)."
    )


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


CHANNEL_TOOLS: dict[str, tuple[str, type[BaseModel]]] = {
    "ask": (
        "Ask bichat's agent a question about the shop in words; it answers with the shop's "
        "data (its SQL and tables come with the answer). The conversation is stored; pass "
        "conversation_id to follow up.",
        AskInput,
    ),
    "list_metrics": (
        "The metrics and dimensions query_metrics answers (names, meaning, which dimensions "
        "each allows), the periods and grains, and this shop's values per dimension.",
        NoInput,
    ),
}
RESOURCES = [
    types.Resource(
        uri=AnyUrl(f"bichat://{name}"),
        name=name,
        title=title,
        description=description,
        mimeType=mime_type,
    )
    for name, title, description, mime_type in (
        (
            "schema",
            "The shop's tables",
            "Tables and columns run_sql may read, with their meaning and joins.",
            "text/markdown",
        ),
        (
            "semantic-model",
            "Metrics and dimensions",
            "The semantic model query_metrics answers, with this shop's values.",
            "application/json",
        ),
    )
]
PROMPTS: dict[str, tuple[str, list[types.PromptArgument], str]] = {
    "revenue_overview": (
        "How did the shop do? Revenue, orders and average order value, against the period before.",
        [types.PromptArgument(name="period", description="e.g. last-month, this-year, 2025")],
        "Using bichat's query_metrics tool, give me revenue, orders and average order value for "
        "{period}, compared with the previous period, and by channel. Say what changed most, "
        "and state the interpretation each result carries.",
    ),
    "top_products": (
        "The best-selling products over a period.",
        [
            types.PromptArgument(name="period", description="e.g. last-30-days"),
            types.PromptArgument(name="metric", description="revenue or units"),
        ],
        "Using bichat's query_metrics tool, list the 10 best-selling products by {metric} over "
        "{period}, with their share of the total, and tell me which are out of stock "
        "(search_products or run_sql).",
    ),
    "bundle_ideas": (
        "Which products to bundle or recommend together.",
        [types.PromptArgument(name="product", description="a SKU (optional)")],
        "Using bichat's bundle_rules tool{for_product}, suggest three bundles worth offering, "
        "with their lift and confidence, and explain each in a sentence.",
    ),
}
PROMPT_DEFAULTS = {"period": "last-month", "metric": "revenue"}


class McpChannel:
    """Builds the server for one process; ``who`` says who each call acts as."""

    def __init__(self, runtime: AgentRuntime, who: Who, *, ask_limit: AskLimit | None = None):
        self.runtime, self.who, self.ask_limit = runtime, who, ask_limit

    def context(self, principal: Principal) -> ToolContext:
        """A call outside any conversation, audited as ``mcp:token-N`` (or ``mcp:user-N``)."""
        services = self.runtime.agent.services
        return ToolContext(principal.tenant, None, services, purpose=f"{CHANNEL}:{principal.label}")

    def tools(self) -> list[types.Tool]:
        found = [
            mcp_tool(tool.name, tool.description, tool.input)
            for tool in registry.standalone_tools()
        ]
        found += [mcp_tool(name, text, model) for name, (text, model) in CHANNEL_TOOLS.items()]
        return found

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            principal = await self.who()
            output = await self.run(principal, name, arguments)
        except BichatError as error:
            return tool_result(error.to_dict(), error=True)
        return tool_result(output)

    async def run(self, principal: Principal, name: str, arguments: dict[str, Any]) -> Any:
        tool = registry.tool_named(name)
        if tool is not None and tool.standalone:
            return await self.registry_call(tool, principal, arguments)
        if name == "ask":
            return await self.ask(principal, checked(AskInput, arguments))
        if name == "list_metrics":
            semantic = self.runtime.agent.semantic
            return catalogue(semantic.model, await semantic.index(principal.tenant))
        raise NotFound(f"no tool {name!r}", code="unknown_tool")

    async def registry_call(
        self, tool: Tool[Any], principal: Principal, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        output, _ = await registry.call(tool, self.context(principal), arguments)
        return {key: value for key, value in output.items() if key != "result_id"}

    async def ask(self, principal: Principal, asked: AskInput) -> dict[str, Any]:
        """A turn like the chat's: question stored first, every call, answer or error last."""
        if self.ask_limit is not None:
            await self.ask_limit(principal)
        result = None
        async for event in self.runtime.turns.stream(
            question=asked.question,
            session_id=asked.conversation_id,
            channel=CHANNEL,
            **principal.asker(),
        ):
            if isinstance(event, Answered | Failed):
                result = event.result
        assert result is not None
        return result_json(result)

    async def resource(self, uri: AnyUrl) -> list[ReadResourceContents]:
        principal = await self.who()
        if str(uri) == "bichat://schema":
            parts = self.runtime.agent.parts
            if parts is None:
                await self.runtime.agent.prepare()
                parts = self.runtime.agent.parts
            assert parts is not None
            return [ReadResourceContents(f"{parts.schema}\n\n{parts.notes}", "text/markdown")]
        if str(uri) == "bichat://semantic-model":
            semantic = self.runtime.agent.semantic
            data = catalogue(semantic.model, await semantic.index(principal.tenant))
            return [ReadResourceContents(json.dumps(data, ensure_ascii=False), "application/json")]
        raise NotFound(f"no resource {uri}", code="unknown_resource")

    def server(self) -> Server[Any, Any]:
        server: Server[Any, Any] = Server("bichat", instructions=INSTRUCTIONS)

        @server.list_tools()  # type: ignore[no-untyped-call, untyped-decorator]
        async def list_tools() -> list[types.Tool]:
            return self.tools()

        @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
        async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
            return await self.call(name, arguments)

        @server.list_resources()  # type: ignore[no-untyped-call, untyped-decorator]
        async def list_resources() -> list[types.Resource]:
            return RESOURCES

        @server.read_resource()  # type: ignore[no-untyped-call, untyped-decorator]
        async def read_resource(uri: AnyUrl) -> list[ReadResourceContents]:
            return await self.resource(uri)

        @server.list_prompts()  # type: ignore[no-untyped-call, untyped-decorator]
        async def list_prompts() -> list[types.Prompt]:
            return [
                types.Prompt(name=name, description=text, arguments=arguments)
                for name, (text, arguments, _) in PROMPTS.items()
            ]

        @server.get_prompt()  # type: ignore[no-untyped-call, untyped-decorator]
        async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
            return prompt(name, arguments or {})

        return server


def mcp_tool(name: str, description: str, model: type[BaseModel]) -> types.Tool:
    return types.Tool(name=name, description=description, inputSchema=model.model_json_schema())


def checked(model: type[BaseModel], arguments: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from app.errors import InvalidInput

    try:
        return model.model_validate(arguments)
    except ValidationError as error:
        raise InvalidInput(str(error), code="invalid_input") from None


def tool_result(data: dict[str, Any], *, error: bool = False) -> types.CallToolResult:
    text = json.dumps(data, ensure_ascii=False, default=str)
    structured = json.loads(text)  # JSON-safe (dates, decimals) as the text says
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structuredContent=structured,
        isError=error,
    )


def prompt(name: str, arguments: dict[str, str]) -> types.GetPromptResult:
    if name not in PROMPTS:
        raise ValueError(f"no prompt {name!r}; prompts are {', '.join(PROMPTS)}")
    description, _, template = PROMPTS[name]
    values = {**PROMPT_DEFAULTS, **{k: v for k, v in arguments.items() if v}}
    product = values.get("product")
    values["for_product"] = f" for the product {product}" if product else ""
    text = template.format_map(values)
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
    return types.GetPromptResult(description=description, messages=[message])
