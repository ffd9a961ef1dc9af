"""The offline model: a LangChain chat model that answers from verified questions alone.

No network, no language model. When the question is close enough to a verified one it calls
the SQL tool the offline engine may use (``run_sql``) with that question's SQL, then sums the result up in plain words; otherwise it says
the question needs a language model and offers the closest verified questions. Every answer
starts with ``OFFLINE_LABEL`` so that it is recognisable wherever it is shown.

The question's closest verified questions come with each call, as the call option
``verified_matches`` (the agent's ``VerifiedMatches`` middleware sets it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict

from app.markdown_text import code_block, escape_markdown
from app.store.verified import Match
from app.tools import registry

OFFLINE_MODEL = "offline"
OFFLINE_LABEL = "[offline answer: from a verified question, no language model]"
MATCHES_SETTING = "verified_matches"
TABLE_ROWS = 10
SQL_TOOL = next(tool.name for tool in registry.offline_tools() if tool.sql_input)


class OfflineChatModel(BaseChatModel):
    """Answers a question by running the SQL of the closest verified question."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    min_similarity: float = 0.8
    suggestions: int = 3

    @property
    def _llm_type(self) -> str:
        return "bichat-offline"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        """The tools are known (the offline ones of the registry); the call options (the
        verified matches) are kept for each call."""
        return self.bind(**kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("the offline model only runs asynchronously (ainvoke)")

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = await self.reply(messages, kwargs.get(MATCHES_SETTING) or [])
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Word by word, like a real model, so the chat shows the answer as it comes."""
        message = await self.reply(messages, kwargs.get(MATCHES_SETTING) or [])
        if message.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(**message_fields(message)))
            return
        words = str(message.content).split(" ")
        for index, word in enumerate(words):
            last = index == len(words) - 1
            chunk = AIMessageChunk(
                content=word if last else word + " ",
                response_metadata=message.response_metadata if last else {},
                chunk_position="last" if last else None,
            )
            yield ChatGenerationChunk(message=chunk)

    async def reply(self, messages: list[BaseMessage], matches: list[Match]) -> AIMessage:
        """Sum up the verified query's result, or call it, or decline."""
        question_at = last_question_index(messages)
        after = messages[question_at + 1 :]
        tool_results = [m for m in after if isinstance(m, ToolMessage)]
        if tool_results:
            return summary_message(after, tool_results[-1])
        best = matches[0] if matches else None
        if best is not None and best.similarity >= self.min_similarity:
            return AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": SQL_TOOL,
                        "args": {"sql": best.sql},
                        "id": f"offline_{uuid.uuid4().hex[:12]}",
                        "type": "tool_call",
                    }
                ],
                response_metadata=metadata(verified_question=best.question),
            )
        return AIMessage(
            content=decline_text(matches[: self.suggestions]), response_metadata=metadata()
        )


def metadata(**extra: Any) -> dict[str, Any]:
    return {"model_name": OFFLINE_MODEL, "offline": True, **extra}


def message_fields(message: AIMessage) -> dict[str, Any]:
    return {
        "content": message.content,
        "tool_call_chunks": [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(message.tool_calls)
        ],
        "response_metadata": message.response_metadata,
        "chunk_position": "last",
    }


def last_question_index(messages: Sequence[BaseMessage]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return index
    return -1


def decline_text(matches: Sequence[Match]) -> str:
    lines = [
        OFFLINE_LABEL,
        "",
        "This question needs a language model: bichat is running offline (no OPENAI_API_KEY "
        "or BICHAT_MODEL set), so it can only answer questions close to its verified ones.",
    ]
    if matches:
        lines += ["", "The closest questions it can answer:"]
        lines += [f"- {escape_markdown(m.question)}" for m in matches]
    return "\n".join(lines)


def summary_message(after: Sequence[BaseMessage], result_message: ToolMessage) -> AIMessage:
    asked = next((m for m in after if isinstance(m, AIMessage) and m.tool_calls), None)
    verified = asked.response_metadata.get("verified_question", "") if asked else ""
    sql = asked.tool_calls[0]["args"].get("sql", "") if asked else ""
    data = json.loads(str(result_message.content))
    body = failure_text(data["error"]) if "error" in data else result_text(data)
    text = "\n".join(
        [
            OFFLINE_LABEL,
            "",
            f"Answered with the verified question “{escape_markdown(verified)}”.",
            "",
            body,
            "",
            code_block(sql, "sql"),
        ]
    )
    return AIMessage(content=text, response_metadata=metadata(verified_question=verified))


def failure_text(error: dict[str, Any]) -> str:
    message = escape_markdown(error.get("message", "unknown error"))
    return f"Its query failed on this shop's data: {message}."


def result_text(data: dict[str, Any]) -> str:
    columns, rows = data["columns"], data["rows"]
    if not rows:
        return "The query returned no rows: there is no data for this question yet."
    if len(rows) == 1 and len(columns) <= 4:
        pairs = ", ".join(
            f"{escape_markdown(c.replace('_', ' '))}: {plain(v)}"
            for c, v in zip(columns, rows[0], strict=True)
        )
        return f"The result is {pairs}."
    more = " (more exist)" if data.get("truncated") else ""
    head = f"The query returned {data['row_count']} rows{more}"
    shown = rows[:TABLE_ROWS]
    lines = [
        f"{head}; {'here they are' if len(shown) == len(rows) else f'the first {len(shown)}'}:",
        "",
        "| " + " | ".join(escape_markdown(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(plain(v) for v in row) + " |" for row in shown]
    return "\n".join(lines)


def plain(value: Any) -> str:
    """A cell as markdown text: numbers formatted, anything else escaped (data is text)."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "—" if value is None else escape_markdown(value)
