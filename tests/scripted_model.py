"""A chat model that plays a script: the stand-in for the LLM provider in tests and benchmarks.

Each step is a final answer (``str``), one or more tool calls (``Call`` or a list of them), or
a function of the messages so far returning either. It streams like a provider does: text
word by word, tool calls as chunks, and usage on the last chunk.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr


@dataclass
class Call:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


Step = str | Call | list[Call] | Callable[[list[BaseMessage]], "str | Call | list[Call]"]


class ScriptedChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[Any]
    model_name: str = "scripted-model"
    cached_input_tokens: int = 0
    _position: int = PrivateAttr(default=0)
    _seen: list[list[BaseMessage]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def seen(self) -> list[list[BaseMessage]]:
        """The messages of every call, in order (system prompt first)."""
        return self._seen

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def next_step(self, messages: list[BaseMessage]) -> str | Call | list[Call]:
        if self._position >= len(self.script):
            raise AssertionError(f"the script has only {len(self.script)} steps")
        step = self.script[self._position]
        self._position += 1
        self._seen.append(list(messages))
        return step(messages) if callable(step) else step

    def message_for(self, messages: list[BaseMessage]) -> AIMessage:
        step = self.next_step(messages)
        calls = [step] if isinstance(step, Call) else step if isinstance(step, list) else []
        text = step if isinstance(step, str) else ""
        return AIMessage(
            content=text,
            tool_calls=[
                {
                    "name": c.name,
                    "args": c.args,
                    "id": f"call_{uuid.uuid4().hex[:10]}",
                    "type": "tool_call",
                }
                for c in calls
            ],
            usage_metadata=self.usage(messages, text, calls),
            response_metadata={"model_name": self.model_name},
        )

    def usage(self, messages: list[BaseMessage], text: str, calls: list[Call]) -> Any:
        output = max(1, len(text.split()) + sum(len(json.dumps(c.args)) // 4 for c in calls))
        prompt = count_tokens_approximately(messages)
        return {
            "input_tokens": prompt,
            "output_tokens": output,
            "total_tokens": prompt + output,
            "input_token_details": {"cache_read": min(self.cached_input_tokens, prompt)},
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.message_for(messages))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        message = self.message_for(messages)
        words = str(message.content).split(" ") if message.content else []
        for word in words[:-1]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content=words[-1] if words else "",
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(message.tool_calls)
                ],
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
                chunk_position="last",
            )
        )
