"""One turn of a conversation: store the question, build the prompt and tools, run the agent,
stream what happens, and return the answer with its tool calls, charts, usage and cost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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

from app.agent.charts import Chart
from app.agent.model_errors import ModelCallFailed
from app.agent.models import build_chat_model, is_offline
from app.agent.offline import OFFLINE_MODEL
from app.agent.prompt import SYSTEM_TEMPLATE, PromptParts, build_prompt_parts, system_prompt
from app.agent.recorder import TurnRecorder
from app.agent.tools import build_agent_tools
from app.agent.turn import CURRENT_TURN, ToolCallRecord, TurnContext, TurnLog
from app.agent.verified import Match, similar_questions, sync_examples
from app.config import Settings
from app.embeddings import model_name
from app.errors import InvalidInput
from app.semantic.service import SemanticLayer
from app.store.conversations import (
    Message,
    add_message,
    check_session,
    create_session,
    ensure_session,
    session_history,
    title_for,
)
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor, SqlResult
from db.tenants import TenantRecord

PROMPT_EXAMPLES = 4
MAX_QUESTION_CHARS = 4000
LIMIT_ANSWER = (
    "I stopped before finishing: this question needed more steps than one turn allows "
    "({limit} model calls). Try asking for one thing at a time."
)


@dataclass
class TurnResult:
    session_id: uuid.UUID
    question: str
    answer: str
    offline: bool
    log: TurnLog
    charts: list[Chart] = field(default_factory=list)
    error: str | None = None
    message_id: int | None = None  # the stored answer (feedback goes there)
    results: dict[str, SqlResult] = field(default_factory=dict)  # run_sql results by result_id
    suggestions: list[str] = field(default_factory=list)  # close verified questions

    def result_of(self, record: ToolCallRecord) -> SqlResult | None:
        """The full result of a successful run_sql call of this turn."""
        result_id = (record.output or {}).get("result_id")
        return self.results.get(result_id) if isinstance(result_id, str) else None

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        return self.log.tool_calls

    @property
    def sql(self) -> list[str]:
        """The SQL of each query of the turn (query_metrics: the SQL it compiled)."""
        return [
            c.input.get("sql", "") if c.name == "run_sql" else (c.output or {}).get("sql", "")
            for c in self.log.tool_calls
            if c.name in ("run_sql", "query_metrics")
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "question": self.question,
            "answer": self.answer,
            "offline": self.offline,
            "error": self.error,
            "message_id": self.message_id,
            "sql": self.sql,
            "tool_calls": [c.to_dict() for c in self.log.tool_calls],
            "charts": [{"id": c.id, "spec": c.spec.model_dump()} for c in self.charts],
            "usage": self.log.usage.to_dict(),
        }


@dataclass
class TurnEvent:
    """``token`` (text), ``tool_start``/``tool_end`` (data), ``done`` (result)."""

    type: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    result: TurnResult | None = None


class ChatAgent:
    """Answers questions for any tenant. One per process; ``prepare()`` once before use."""

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
    ) -> None:
        self.engine, self.settings, self.executor = engine, settings, executor
        self.search, self.embeddings, self.prompt_template = search, embeddings, prompt_template
        self.chat_model = chat_model
        self.semantic = SemanticLayer(engine=engine)
        self.offline = chat_model is None and is_offline(settings)
        self.parts: PromptParts | None = None
        self._graph: tuple[BaseChatModel, Any] | None = None

    async def prepare(self) -> None:
        """Load the verified examples (embedding new ones) and the schema description."""
        await sync_examples(self.engine, embeddings=self.embeddings)
        self.parts = await build_prompt_parts(self.engine, self.semantic.model)

    async def ask(self, **kwargs: Any) -> TurnResult:
        """Run a turn to the end (see ``stream``) and return its result."""
        async for event in self.stream(**kwargs):
            if event.result is not None:
                return event.result
        raise AssertionError("a turn always ends with a result")

    async def stream(
        self,
        *,
        tenant: TenantRecord,
        question: str,
        session_id: uuid.UUID | str | None = None,
        user_id: int | None = None,
        create_session: bool = False,
    ) -> AsyncIterator[TurnEvent]:
        """Run one turn, yielding tokens, tool progress and finally the result.

        ``session_id`` continues a conversation of the tenant (and user); with
        ``create_session`` a session of that id is created when missing (chat threads)."""
        question = check_question(question)
        if self.parts is None:
            await self.prepare()
        # embedding the question (CPU, in a thread) overlaps with the writes below
        matching = asyncio.ensure_future(self.similar(tenant, question))
        try:
            session = await self.open_session(tenant, session_id, user_id, question, create_session)
            # read before this question is added; a new session has none
            history = await self.history(session) if session_id is not None else []
            await add_message(
                self.engine,
                session_id=session,
                tenant_id=tenant.id,
                message=Message(role="user", content=question),
            )
        except BaseException:
            matching.cancel()
            raise
        matches = await matching
        async for event in self.run_turn(tenant, session, question, history, matches):
            yield event

    async def open_session(
        self,
        tenant: TenantRecord,
        session_id: uuid.UUID | str | None,
        user_id: int | None,
        question: str,
        create: bool = False,
    ) -> uuid.UUID:
        if session_id is not None and create:
            return await ensure_session(
                self.engine,
                session_id=uuid.UUID(str(session_id)),
                tenant_id=tenant.id,
                user_id=user_id,
                title=title_for(question),
            )
        if session_id is not None:
            return await check_session(
                self.engine, session_id=session_id, tenant_id=tenant.id, user_id=user_id
            )
        return await create_session(
            self.engine, tenant_id=tenant.id, user_id=user_id, title=title_for(question)
        )

    async def history(self, session: uuid.UUID) -> list[BaseMessage]:
        """Earlier turns, newest kept first, within ``history_max_tokens``."""
        items = await session_history(self.engine, session_id=session)
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

    async def similar(self, tenant: TenantRecord, question: str) -> list[Match]:
        vector = await asyncio.to_thread(self.embeddings.embed_query, question)
        return await similar_questions(
            self.engine,
            tenant_id=tenant.id,
            vector=vector,
            model=model_name(self.embeddings),
            limit=max(PROMPT_EXAMPLES, 3),
        )

    async def offline_matches(self, question: str) -> list[Match]:
        """The offline model's matcher: the running turn's matches, or a fresh lookup."""
        turn = CURRENT_TURN.get()
        if turn is None:
            raise RuntimeError("the offline model runs inside a turn")
        return (
            turn.matches if question == turn.question else await self.similar(turn.tenant, question)
        )

    def current_model(self) -> BaseChatModel:
        if self.chat_model is None:
            self.chat_model = build_chat_model(self.settings, matcher=self.offline_matches)
        return self.chat_model

    def graph(self) -> Any:
        """The compiled agent, built once per chat model (compiling costs ~20 ms)."""
        model = self.current_model()
        if self._graph is None or self._graph[0] is not model:
            self._graph = (model, self.compile(model))
        return self._graph[1]

    def compile(self, model: BaseChatModel) -> Any:
        label = OFFLINE_MODEL if self.offline else model_label(model, self.settings)
        return create_agent(
            model,
            build_agent_tools(executor=self.executor, search=self.search, semantic=self.semantic),
            middleware=[
                turn_prompt,
                ModelCallLimitMiddleware(  # type: ignore[list-item]  # generic in its state
                    run_limit=self.settings.agent_max_model_calls, exit_behavior="end"
                ),
                ToolCallLimitMiddleware(  # type: ignore[list-item]
                    run_limit=self.settings.agent_max_tool_calls, exit_behavior="continue"
                ),
                TurnRecorder(engine=self.engine, model_name=label),
            ],
            context_schema=TurnContext,
        )

    async def run_turn(
        self,
        tenant: TenantRecord,
        session: uuid.UUID,
        question: str,
        history: list[BaseMessage],
        matches: list[Match],
    ) -> AsyncIterator[TurnEvent]:
        assert self.parts is not None, "prepare() first"
        turn = TurnContext(
            tenant=tenant,
            session_id=session,
            question=question,
            system_prompt=system_prompt(
                parts=self.parts,
                tenant=tenant,
                examples=matches[:PROMPT_EXAMPLES],
                now=datetime.now(UTC),
                template_path=self.prompt_template,
            ),
            matches=matches,
            max_tool_errors=self.settings.agent_max_tool_errors,
        )
        CURRENT_TURN.set(turn)
        agent, log = self.graph(), turn.log
        result = TurnResult(
            session,
            question,
            "",
            self.offline,
            log,
            turn.state.charts,
            results=turn.state.results,
            suggestions=[m.question for m in matches[:PROMPT_EXAMPLES]],
        )
        final: list[BaseMessage] = []
        try:
            async for mode, payload in agent.astream(
                {"messages": [*history, HumanMessage(question)]},
                context=turn,
                stream_mode=["messages", "custom", "values"],
            ):
                if mode == "values":
                    final = payload["messages"]
                    continue
                event = to_event(mode, payload)
                if event is not None:
                    yield event
        except ModelCallFailed as error:
            result.error = result.answer = error.message
        except Exception as error:  # a bug of ours: store it, tell the user, keep the session
            result.error = result.answer = f"Something went wrong on our side: {error!r}"
            await add_message(
                self.engine,
                session_id=session,
                tenant_id=tenant.id,
                message=Message(
                    role="assistant",
                    model=model_label(self.current_model(), self.settings),
                    error=result.error,
                ),
            )
        else:
            answer = final_answer(final)
            result.answer, result.message_id = answer or "", log.last_message_id
            if answer is None:  # the turn hit its model-call limit
                result.answer = LIMIT_ANSWER.format(limit=self.settings.agent_max_model_calls)
                result.error = "turn_limit"
                result.message_id = await add_message(
                    self.engine,
                    session_id=session,
                    tenant_id=tenant.id,
                    message=Message(role="assistant", content=result.answer, error="turn_limit"),
                )
        yield TurnEvent("done", result=result)


@dynamic_prompt
def turn_prompt(request: ModelRequest) -> str:
    """The running turn's system prompt (built per turn, the graph is shared)."""
    turn = cast(TurnContext, request.runtime.context)
    return turn.system_prompt


def model_label(model: BaseChatModel, settings: Settings) -> str:
    """The model's name for the store when the provider reports none (failed calls)."""
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return str(name or settings.effective_model.split(":", 1)[-1])


def to_event(mode: str, payload: Any) -> TurnEvent | None:
    if mode == "custom":
        return TurnEvent(payload["type"], data=payload)
    chunk, metadata = payload
    if isinstance(chunk, AIMessageChunk) and metadata.get("langgraph_node") == "model":
        text = chunk.text
        if text:
            return TurnEvent("token", text=text)
    return None


def final_answer(messages: list[BaseMessage]) -> str | None:
    """The model's last answer; None when the turn ended on a limit instead (the limit
    middleware's closing message carries no model metadata)."""
    last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if last is None or last.tool_calls or "model_name" not in last.response_metadata:
        return None
    return last.text


def check_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise InvalidInput(
            "the question is empty: ask something about the shop", code="empty_question"
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}",
            code="question_too_long",
        )
    return question
