"""The agent: answers one question with a LangChain ``create_agent`` graph over the registry's
tools, and reports what it does as events (``app.answering.events``). It never writes the
store: the turn (``app.turn``) does, from these events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from langchain.agents import create_agent
from langchain.agents.middleware import (
    ModelCallLimitMiddleware,
    ModelRequest,
    ToolCallLimitMiddleware,
    dynamic_prompt,
)
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    trim_messages,
)
from langchain_core.messages.utils import count_tokens_approximately
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agent.context import AgentTurn
from app.agent.models import build_chat_model, is_offline
from app.agent.prompt import SYSTEM_TEMPLATE, PromptParts, build_prompt_parts, system_prompt
from app.agent.providers import provider_for
from app.agent.providers.base import ModelCallFailed
from app.agent.reporter import CallReporter
from app.agent.tools import build_agent_tools
from app.answering.events import AnswerCutShort, AnswerEvent, AnswerFailed, AnswerReady, Token
from app.answering.question import Question
from app.config import Settings
from app.semantic.service import SemanticLayer
from app.store.conversations import HistoryItem
from app.store.verified import sync_examples
from app.tools import registry
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor
from app.tools.tool import ToolContext, ToolServices

PROMPT_EXAMPLES = 4
LIMIT_ANSWER = (
    "I stopped before finishing: this question needed more steps than one turn allows "
    "({limit} model calls). Try asking for one thing at a time."
)


class ChatAgent:
    """Answers questions for any tenant. One per process; ``prepare()`` once before use.
    ``offline`` (no model configured): it is not asked; the question engine answers."""

    path = "model"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: Settings,
        executor: SqlExecutor,
        search: ProductSearch,
        embeddings: Embeddings,
        chat_model: BaseChatModel | None = None,
        prompt_template: Path = SYSTEM_TEMPLATE,
        semantic: SemanticLayer | None = None,
    ) -> None:
        self.engine, self.settings = engine, settings
        self.semantic = semantic or SemanticLayer(engine=engine)
        self.services = ToolServices(executor=executor, search=search, semantic=self.semantic)
        self.embeddings, self.prompt_template = embeddings, prompt_template
        self.chat_model = chat_model
        self.offline = chat_model is None and is_offline(settings)
        self.parts: PromptParts | None = None
        self._graph: tuple[BaseChatModel, Any] | None = None

    async def prepare(self) -> None:
        """Load the verified examples (embedding new ones) and the schema description."""
        await sync_examples(self.engine, embeddings=self.embeddings)
        self.parts = await build_prompt_parts(self.engine, self.semantic.model)

    def current_model(self) -> BaseChatModel:
        if self.chat_model is None:
            self.chat_model = build_chat_model(self.settings)
        return self.chat_model

    def model_label(self) -> str:
        """The model's name for the store when the provider reports none (failed calls)."""
        model = self.current_model()
        name = getattr(model, "model_name", None) or getattr(model, "model", None)
        return str(name or self.settings.effective_model.split(":", 1)[-1])

    def graph(self) -> Any:
        """The compiled agent, built once per chat model (compiling costs ~20 ms)."""
        model = self.current_model()
        if self._graph is None or self._graph[0] is not model:
            self._graph = (model, self.compile(model))
        return self._graph[1]

    def compile(self, model: BaseChatModel) -> Any:
        label = self.model_label()
        middleware: list[Any] = [
            turn_prompt,
            ModelCallLimitMiddleware(
                run_limit=self.settings.agent_max_model_calls, exit_behavior="end"
            ),
            ToolCallLimitMiddleware(
                run_limit=self.settings.agent_max_tool_calls, exit_behavior="continue"
            ),
            CallReporter(model_name=label, provider=provider_for(self.settings.effective_model)),
        ]
        return create_agent(
            model,
            build_agent_tools(registry.TOOLS),
            middleware=middleware,
            context_schema=AgentTurn,
        )

    def context(self, question: Question) -> AgentTurn:
        assert self.parts is not None, "prepare() first"
        return AgentTurn(
            system_prompt=system_prompt(
                parts=self.parts,
                tenant=question.tenant,
                examples=question.matches[:PROMPT_EXAMPLES],
                now=datetime.now(UTC),
                template_path=self.prompt_template,
            ),
            matches=question.matches,
            max_tool_errors=self.settings.agent_max_tool_errors,
            deadline=question.deadline,
            time_limit_s=self.settings.turn_timeout_s,
            model_timeout_s=self.settings.model_timeout_s,
            model_attempts=self.settings.model_max_retries + 1,
            tools=ToolContext(
                tenant=question.tenant,
                session_id=question.session_id,
                services=self.services,
                turn=question.results,
                user_id=question.user_id,
                purpose=question.channel,
            ),
        )

    async def answer(self, question: Question) -> AsyncGenerator[AnswerEvent, None]:
        """Run the graph on the question (after its trimmed history); the last event is the
        answer, a note that the turn's limits cut it short, or the provider's failure."""
        if self.parts is None:
            await self.prepare()
        messages = [*self.history(question.history), HumanMessage(question.text)]
        final: list[BaseMessage] = []
        try:
            async for mode, payload in self.graph().astream(
                {"messages": messages},
                context=self.context(question),
                stream_mode=["messages", "custom", "values"],
            ):
                if mode == "values":
                    final = payload["messages"]
                elif (event := to_event(mode, payload)) is not None:
                    yield event
        except ModelCallFailed as failure:
            yield AnswerFailed(failure.message, failure.model, failure.latency_ms)
            return
        answer = final_answer(final)
        if answer is None:  # the turn hit its model-call limit
            limit = LIMIT_ANSWER.format(limit=self.settings.agent_max_model_calls)
            yield AnswerCutShort(limit, "turn_limit")
        else:
            yield AnswerReady(answer)

    def history(self, items: list[HistoryItem]) -> list[BaseMessage]:
        """Earlier turns, newest kept first, within ``history_max_tokens``."""
        messages: list[BaseMessage] = [
            HumanMessage(i.content) if i.role == "user" else AIMessage(i.content) for i in items
        ]
        if not messages or self.settings.history_max_tokens == 0:
            return []
        trimmed = trim_messages(
            messages,
            max_tokens=self.settings.history_max_tokens,
            token_counter=count_tokens_approximately,
            strategy="last",
            start_on="human",
        )
        return list(trimmed)


@dynamic_prompt
def turn_prompt(request: ModelRequest) -> str:
    """The running question's system prompt (built per question, the graph is shared)."""
    return cast(AgentTurn, request.runtime.context).system_prompt


def to_event(mode: str, payload: Any) -> AnswerEvent | None:
    if mode == "custom":
        return cast(AnswerEvent, payload)
    chunk, metadata = payload
    if isinstance(chunk, AIMessageChunk) and metadata.get("langgraph_node") == "model":
        text = chunk.text
        if text:
            return Token(text)
    return None


def final_answer(messages: list[BaseMessage]) -> str | None:
    """The model's last answer; None when the turn ended on a limit instead (the limit
    middleware's closing message carries no model metadata)."""
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is None or last.tool_calls or "model_name" not in last.response_metadata:
        return None
    return last.text
