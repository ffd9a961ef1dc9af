"""``Turns``: runs one question's turn from start to end and streams its typed events.

1. The question is checked, its session opened (or created) and the question stored, before
   any model is called; meanwhile the closest verified questions are looked up.
2. An answerer is picked (``pick``): without a model the question engine answers; with one
   the engine answers first when it is sure (no model call, no cost) and the agent answers
   the rest (``BICHAT_ENGINE_FIRST`` turns that off). Its model and tool calls are stored as
   they end.
3. The turn ends with its answer, or with the error stored last; a turn stopped midway (the
   channel went away) is stored as ``interrupted``.

The database may be away for a moment (a restart): every read and write of the turn waits for
it up to ``BICHAT_DATABASE_RETRY_S``. A question that still cannot be stored is not answered
(``DatabaseUnavailable`` is raised before any event, and the channel asks its user to send it
again); a turn whose later rows cannot be stored stops with ``Failed`` and those rows are
written when the database is back (``app.turn.pending``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, NotRequired, TypedDict, Unpack

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
    StillWorking,
    Token,
    ToolFinished,
    ToolStarted,
)
from app.answering.question import Answerer, Question, Triage
from app.embeddings import model_name
from app.errors import DatabaseUnavailable, InvalidInput
from app.log_format import TURN_ID
from app.store.conversations import HistoryItem, StoredCall, recent_calls, session_history
from app.store.verified import Match, similar_questions
from app.tools.tool import ToolServices, TurnResults
from app.turn.auto_chart import auto_chart
from app.turn.deadline import TurnTimedOut, within_deadline
from app.turn.drain import Drain
from app.turn.events import Answered, Failed, TurnEvent
from app.turn.metering import metered
from app.turn.pending import PendingWrites
from app.turn.result import TurnResult
from app.turn.writer import TurnWriter, open_session
from db.availability import retries
from db.tenants import TenantRecord

log = logging.getLogger(__name__)

Shown = Token | ToolStarted | ToolFinished | ChartShown | StillWorking  # passed to the channel
MATCHES = 4  # closest verified questions looked up per question (examples, suggestions)
MAX_QUESTION_CHARS = 4000
TURN_TIMEOUT = "turn_timeout"  # the stored error of a turn whose time was up
TURN_TIMEOUT_ANSWER = (
    "No answer within {limit:g} s, the time one question may take: it is taking too long "
    "right now. Ask again in a moment, or ask a simpler question."
)
STORE_UNAVAILABLE = "database_unavailable"  # the stored error of a turn cut by the database
STORE_UNAVAILABLE_ANSWER = (
    "The service's database stopped answering while your question was being answered, so the "
    "answer could not be saved. Your question is kept; ask it again in a moment."
)
CRASHED_ANSWER = (
    "Something went wrong on our side and this question was not answered (the error is "
    "logged for the administrators). Ask again, or ask in other words."
)


class TurnRequest(TypedDict):
    """The arguments of one turn (``Turns.turn_events`` says what each means)."""

    tenant: TenantRecord
    question: str
    session_id: NotRequired[uuid.UUID | str | None]
    user_id: NotRequired[int | None]
    create_session: NotRequired[bool]
    channel: NotRequired[str]
    api_token_id: NotRequired[int | None]
    audio_ms: NotRequired[int | None]


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
        retry_s: float = 0.0,
        timeout_s: float | None = None,
        questions: Triage | None = None,
        engine_first: bool = True,
        services: ToolServices | None = None,
    ):
        self.engine, self.answerer, self.embeddings = engine, answerer, embeddings
        self.questions, self.engine_first = questions, engine_first
        self.retry_s = retry_s  # how long the turn waits for the database (BICHAT_DATABASE_RETRY_S)
        self.timeout_s = timeout_s  # one turn's whole time (BICHAT_TURN_TIMEOUT_S; None: no limit)
        self.pending = PendingWrites()
        self.instance_id: int | None = None  # this process, when registered (app.turn.presence)
        self.services = services  # for the automatic chart (``app.turn.auto_chart``)
        self.prepared = False
        self.drain = Drain()  # this process's turns, refused while it stops

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

    async def stream(self, **request: Unpack[TurnRequest]) -> AsyncGenerator[TurnEvent, None]:
        """Run one turn (``turn_events``, same arguments), admitted by the process's ``drain``:
        while the process drains, ``ServerDraining`` is raised before anything is stored."""
        turn_id = TURN_ID.set(None)
        with self.drain.admit():
            events = self.turn_events(**request)
            try:
                async with aclosing(events):
                    async for event in events:
                        yield event
            finally:
                with contextlib.suppress(ValueError):  # ended in another task's context
                    TURN_ID.reset(turn_id)

    async def turn_events(
        self,
        *,
        tenant: TenantRecord,
        question: str,
        session_id: uuid.UUID | str | None = None,
        user_id: int | None = None,
        create_session: bool = False,
        channel: str = "chat",
        api_token_id: int | None = None,
        audio_ms: int | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        """Run one turn, yielding its events; the last is ``Answered`` or ``Failed``.

        ``session_id`` continues a conversation of the tenant (and user); with
        ``create_session`` a session of that id is created when missing (chat threads).
        ``channel`` (``chat``, ``cli``, ``api``, ``mcp``, ``voice``) and ``api_token_id`` are
        stored with a new session and label its tool calls in the audit log; the question
        keeps its channel, and a spoken one (``voice``) its recording's length ``audio_ms``."""
        started = time.perf_counter()
        text = check_question(question)
        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        if not self.prepared:
            await self.prepare()
        # embedding the question (CPU, in a thread) overlaps with the writes below
        matching = asyncio.ensure_future(self.similar(tenant, text))
        try:
            writer, history, calls = await self.open_turn(
                tenant,
                text,
                session_id=session_id,
                user_id=user_id,
                create=create_session,
                channel=channel,
                api_token_id=api_token_id,
                audio_ms=audio_ms,
            )
        except BaseException:
            matching.cancel()
            raise
        TURN_ID.set(writer.log.last_message_id)  # the stored question: the turn's log lines
        matches = await matching
        asked = Question(
            tenant,
            writer.session_id,
            text,
            history,
            matches,
            TurnResults(),
            deadline=deadline,
            user_id=user_id,
            channel=channel,
            calls=calls,
        )
        run = metered(self.run(asked, writer), channel=channel, log=writer.log, started=started)
        async with aclosing(run) as events:  # a channel that stops
            async for event in events:  # reading closes the run: it stores the interruption
                yield event

    async def open_turn(
        self,
        tenant: TenantRecord,
        text: str,
        *,
        session_id: uuid.UUID | str | None,
        user_id: int | None,
        create: bool,
        channel: str,
        api_token_id: int | None,
        audio_ms: int | None = None,
    ) -> tuple[TurnWriter, list[HistoryItem], list[StoredCall]]:
        """The session (checked or created), its earlier turns and tool calls, and the stored
        question, all within one wait for the database; ``DatabaseUnavailable`` when it stays
        away."""
        deadline = time.monotonic() + self.retry_s

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        async for attempt in retries(budget_s=left(), what="opening the conversation"):
            with attempt:
                session = await open_session(
                    self.engine,
                    tenant_id=tenant.id,
                    session_id=session_id,
                    user_id=user_id,
                    question=text,
                    create=create,
                    channel=channel,
                    api_token_id=api_token_id,
                )
        history: list[HistoryItem] = []
        calls: list[StoredCall] = []
        if session_id is not None:  # read before this question is added; a new session has none
            async for attempt in retries(budget_s=left(), what="reading the conversation"):
                with attempt:
                    history = await session_history(self.engine, session_id=session)
                    calls = await recent_calls(self.engine, session_id=session)
        writer = TurnWriter(
            self.engine,
            tenant_id=tenant.id,
            session_id=session,
            retry_s=left(),
            instance_id=self.instance_id,
        )
        try:
            await writer.question(text, channel=channel, audio_ms=audio_ms)
        except DatabaseUnavailable:
            self.pending.keep(writer)  # if an attempt stored it after all, it gets closed
            raise
        writer.retry_s = self.retry_s
        return writer, history, calls

    async def similar(self, tenant: TenantRecord, question: str) -> list[Match]:
        """The closest verified questions (none when the database does not answer in time:
        they only help)."""
        vector = await asyncio.to_thread(self.embeddings.embed_query, question)
        matches: list[Match] = []
        try:
            async for attempt in retries(budget_s=self.retry_s, what="finding verified questions"):
                with attempt:
                    matches = await similar_questions(
                        self.engine,
                        tenant_id=tenant.id,
                        vector=vector,
                        model=model_name(self.embeddings),
                        limit=MATCHES,
                    )
        except DatabaseUnavailable:
            pass
        return matches

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

    async def pick_waiting(self, question: Question) -> Answerer:
        """``pick``, waiting for the database (the question engine reads the shop's semantic
        model); when it stays away, the agent (the engine only saves a model call)."""
        try:
            async for attempt in retries(budget_s=self.retry_s, what="reading the semantic model"):
                with attempt:
                    return await self.pick(question)
        except DatabaseUnavailable:
            pass
        return self.answerer

    async def run(self, question: Question, writer: TurnWriter) -> AsyncGenerator[TurnEvent, None]:
        try:
            answerer = await self.pick_waiting(question)
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
        answering = within_deadline(answerer.answer(question), deadline=question.deadline)
        try:
            async with aclosing(answering) as events:
                async for answered in events:
                    for event in await self.before(answered, question, result):
                        await self.settle(event, writer, result)
                        if isinstance(event, Shown):
                            yield event  # what the channel sees of the answerer's work
        except (asyncio.CancelledError, GeneratorExit):
            await asyncio.shield(self.end_quietly(writer, error=None))
            raise
        except TurnTimedOut:
            result.error = TURN_TIMEOUT
            result.answer = TURN_TIMEOUT_ANSWER.format(limit=self.timeout_s)
            await self.end_quietly(
                writer, error=result.error, content=result.answer, model=answerer.model_label()
            )
        except DatabaseUnavailable:  # a row of the turn could not be stored: stop here
            result.error, result.answer = STORE_UNAVAILABLE, STORE_UNAVAILABLE_ANSWER
            await self.end_quietly(writer, error=result.error, content=result.answer)
        except Exception as error:  # a bug of ours: store it, tell the user, keep the session
            log.exception("turn of session %s failed", question.session_id)
            result.error, result.answer = f"crashed: {error!r}"[:2000], CRASHED_ANSWER
            await self.end_quietly(
                writer, error=result.error, content=result.answer, model=answerer.model_label()
            )
        self.keep_waiting(writer)
        yield Failed(result) if result.error and result.message_id is None else Answered(result)

    async def end_quietly(
        self,
        writer: TurnWriter,
        *,
        error: str | None,
        content: str | None = None,
        model: str | None = None,
    ) -> None:
        """Close the turn (``error`` None: as interrupted); rows the database cannot take now
        are written when it is back."""
        try:
            if error is None:
                await writer.interrupted()
            elif not writer.closed:
                await writer.close(error=error, content=content, model=model)
        except DatabaseUnavailable:
            pass
        self.keep_waiting(writer)

    def keep_waiting(self, writer: TurnWriter) -> None:
        if writer.waiting:
            self.pending.keep(writer)

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
                result.answer, result.message_id = text, await writer.answered()
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
