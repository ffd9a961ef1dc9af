"""``Turns``: runs one question's turn from start to end and streams its typed events.

1. The question is checked, its session opened (or created) and the question stored, before
   any model is called; meanwhile the closest verified questions are looked up.
2. An answerer is picked (``pick``): without a model the question engine answers; with one
   the engine answers first when it is sure (no model call, no cost) and the agent answers
   the rest (``BICHAT_ENGINE_FIRST`` turns that off). Its model and tool calls are stored as
   they end.
3. The turn ends with its answer, or with the error stored last; a turn stopped midway (the
   channel went away) is stored as ``interrupted``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy.ext.asyncio import AsyncEngine

from app.answering.events import (
    AnswerCutShort,
    AnswerEvent,
    AnswerFailed,
    AnswerReady,
    AnswerWritten,
    ChartShown,
    ModelCalled,
    OptionsOffered,
    Token,
    ToolFinished,
    ToolStarted,
)
from app.answering.question import Answerer, Question, Triage
from app.embeddings import model_name
from app.errors import InvalidInput
from app.store.conversations import recent_calls, session_history
from app.store.verified import Match, similar_questions
from app.tools.tool import ToolServices, TurnResults
from app.turn.auto_chart import auto_chart
from app.turn.events import Answered, Failed, TurnEvent
from app.turn.result import TurnResult
from app.turn.writer import TurnWriter, open_session
from db.tenants import TenantRecord

MATCHES = 4  # closest verified questions looked up per question (examples, suggestions)
MAX_QUESTION_CHARS = 4000


class Turns:
    """Runs turns for any tenant. One per process. ``answerer`` is the agent (the model
    path), ``questions`` the question engine; without a model (``answerer.offline``) the
    engine answers every question."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        answerer: Answerer,
        embeddings: Embeddings,
        questions: Triage | None = None,
        engine_first: bool = True,
        services: ToolServices | None = None,
    ):
        self.engine, self.answerer, self.embeddings = engine, answerer, embeddings
        self.questions, self.engine_first = questions, engine_first
        self.services = services  # for the automatic chart (``app.turn.auto_chart``)
        self.prepared = False

    @property
    def offline(self) -> bool:
        """No language model: the question engine answers (or, without one, the agent's
        own offline handling)."""
        return self.answerer.offline

    async def prepare(self) -> None:
        await self.answerer.prepare()
        if self.questions is not None:
            await self.questions.prepare()
        self.prepared = True

    async def ask(self, **kwargs: Any) -> TurnResult:
        """Run a turn to the end (see ``stream``) and return its result."""
        last: TurnEvent | None = None
        async for last in self.stream(**kwargs):  # noqa: B007 - the last event is the outcome
            pass
        assert isinstance(last, Answered | Failed), "a turn always ends with its result"
        return last.result

    async def stream(
        self,
        *,
        tenant: TenantRecord,
        question: str,
        session_id: uuid.UUID | str | None = None,
        user_id: int | None = None,
        create_session: bool = False,
        channel: str = "chat",
        api_token_id: int | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        """Run one turn, yielding its events; the last is ``Answered`` or ``Failed``.

        ``session_id`` continues a conversation of the tenant (and user); with
        ``create_session`` a session of that id is created when missing (chat threads).
        ``channel`` (``chat``, ``cli``, ``api``, ``mcp``) and ``api_token_id`` are stored with
        a new session and label its tool calls in the audit log."""
        text = check_question(question)
        if not self.prepared:
            await self.prepare()
        # embedding the question (CPU, in a thread) overlaps with the writes below
        matching = asyncio.ensure_future(self.similar(tenant, text))
        try:
            session = await open_session(
                self.engine,
                tenant=tenant,
                session_id=session_id,
                user_id=user_id,
                question=text,
                create=create_session,
                channel=channel,
                api_token_id=api_token_id,
            )
            # read before this question is added; a new session has none
            history = (
                await session_history(self.engine, session_id=session)
                if session_id is not None
                else []
            )
            calls = (
                await recent_calls(self.engine, session_id=session)
                if session_id is not None
                else []
            )
            writer = TurnWriter(self.engine, tenant_id=tenant.id, session_id=session)
            await writer.question(text)
        except BaseException:
            matching.cancel()
            raise
        asked = Question(
            tenant, session, text, history, await matching, TurnResults(), channel, calls
        )
        async with aclosing(self.run(asked, writer)) as events:  # a channel that stops
            async for event in events:  # reading closes the run: it stores the interruption
                yield event

    async def similar(self, tenant: TenantRecord, question: str) -> list[Match]:
        vector = await asyncio.to_thread(self.embeddings.embed_query, question)
        return await similar_questions(
            self.engine,
            tenant_id=tenant.id,
            vector=vector,
            model=model_name(self.embeddings),
            limit=MATCHES,
        )

    async def pick(self, question: Question) -> Answerer:
        """The path this question takes: the question engine without a model, or when it is
        sure of the question and engine-first is on; the agent otherwise."""
        if self.questions is None:
            return self.answerer
        if self.answerer.offline:
            return self.questions
        if self.engine_first and await self.questions.confident(question):
            return self.questions
        return self.answerer

    async def run(self, question: Question, writer: TurnWriter) -> AsyncGenerator[TurnEvent, None]:
        try:
            answerer = await self.pick(question)
        except BaseException:
            await asyncio.shield(writer.interrupted())
            raise
        result = TurnResult(
            question.session_id,
            question.text,
            "",
            answerer.offline,
            writer.log,
            question.results.charts,
            results=question.results.results,
            suggestions=[m.question for m in question.matches],
            path=answerer.path,
        )
        try:
            async with aclosing(answerer.answer(question)) as events:
                async for answered in events:
                    for event in await self.before(answered, question, result):
                        await self.settle(event, writer, result)
                        if isinstance(event, Token | ToolStarted | ToolFinished | ChartShown):
                            yield event  # what the channel sees of the answerer's work
        except (asyncio.CancelledError, GeneratorExit):
            await asyncio.shield(writer.interrupted())
            raise
        except Exception as error:  # a bug of ours: store it, tell the user, keep the session
            result.error = result.answer = f"Something went wrong on our side: {error!r}"
            await writer.close(error=result.error, model=answerer.model_label())
        yield Failed(result) if result.error and result.message_id is None else Answered(result)

    async def before(
        self, event: AnswerEvent, question: Question, result: TurnResult
    ) -> list[AnswerEvent]:
        """The event, after the automatic chart when it is the answer and has none."""
        if not isinstance(event, AnswerWritten | AnswerReady):
            return [event]
        return [*await auto_chart(question, result.tool_calls, self.services), event]

    async def settle(self, event: AnswerEvent, writer: TurnWriter, result: TurnResult) -> None:
        """Store what the event says, and what it decides of the turn's result."""
        match event:
            case ModelCalled(call):
                await writer.model_call(call)
            case ToolFinished(call):
                await writer.tool_call(call)
            case AnswerReady(text):
                result.answer, result.message_id = text, writer.answered()
            case AnswerWritten(text):
                result.answer = text
                result.message_id = await writer.answer(text)
            case OptionsOffered(options):
                result.options = list(options)
            case AnswerCutShort(text, reason):
                result.answer, result.error = text, reason
                result.message_id = await writer.close(content=text, error=reason)
            case AnswerFailed(error, model, latency_ms):
                result.error = result.answer = error
                await writer.close(error=error, model=model, latency_ms=latency_ms)


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
