"""The one writer of a turn's rows: the session (opened or created), the question first, each
model call and tool call as it ends, and last the closing row (a failure, a cut-short note, an
interruption) when the answer is not already the last model call.

Each write is its own short transaction (``app.store.conversations``), so what was stored stays
stored when a later step fails. A write that finds the database away is tried again for
``retry_s`` seconds (``db.availability``); a row that still cannot be stored waits, with every
later row of its turn, in ``unstored`` until ``flush`` writes them (``app.turn.pending``)."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from app.answering.events import ModelCall
from app.errors import DatabaseUnavailable
from app.store.conversations import (
    Message,
    add_message,
    autocommit,
    check_session,
    create_session,
    ensure_session,
    stored_message_id,
    title_for,
)
from app.store.instances import OpenTurn, close_turn
from app.tools.tool import ToolCallRecord
from app.turn.result import TurnLog
from db.availability import retries

INTERRUPTED = "interrupted"
NOT_STORED = "not_stored"  # a question the database could not take (its asker was told)
NOT_ANSWERED = "Not answered: the service was briefly unavailable when this was asked."
UNHEARD_TITLE = "A spoken question (not transcribed)"
CUT_OFF = "Not answered: the server stopped while this question was being answered. Ask it again."


async def open_session(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID | str | None,
    user_id: int | None,
    question: str,
    create: bool,
    channel: str = "chat",
    api_token_id: int | None = None,
) -> uuid.UUID:
    """The session this turn belongs to: checked (tenant and user), created if new, or created
    under the given id (chat threads are named before their first question)."""
    if session_id is not None and create:
        return await ensure_session(
            engine,
            session_id=uuid.UUID(str(session_id)),
            tenant_id=tenant_id,
            user_id=user_id,
            title=title_for(question),
        )
    if session_id is not None:
        return await check_session(
            engine, session_id=session_id, tenant_id=tenant_id, user_id=user_id
        )
    return await create_session(
        engine,
        tenant_id=tenant_id,
        user_id=user_id,
        title=title_for(question),
        channel="chat" if channel == "voice" else channel,  # spoken in the chat
        api_token_id=api_token_id,
    )


async def store_unheard(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID,
    user_id: int,
    audio_ms: int,
    error: str,
) -> int:
    """A spoken question that could not be turned into text: stored in its conversation
    (created if new) as a ``voice`` question with no words and the reason, so the admin sees
    it; the model never does (history leaves failed rows out)."""
    session = await open_session(
        engine,
        tenant_id=tenant_id,
        session_id=session_id,
        user_id=user_id,
        question=UNHEARD_TITLE,
        create=True,
    )
    failed = Message(role="user", channel="voice", audio_ms=audio_ms, error=error)
    return await add_message(engine, session_id=session, tenant_id=tenant_id, message=failed)


class TurnWriter:
    """Writes one turn's rows in the order they happened; ``log`` is what it stored.

    With an ``instance_id`` (this process, ``app.turn.presence``) the question opens the turn
    in ``open_turns`` and the turn's last row closes it, in the same statements; a turn left
    open by a process that died is closed by another (``close_abandoned``)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        tenant_id: uuid.UUID,
        session_id: uuid.UUID,
        retry_s: float = 0.0,
        instance_id: int | None = None,
    ):
        self.engine, self.tenant_id, self.session_id = engine, tenant_id, session_id
        self.retry_s = retry_s  # how long a write waits for the database to come back
        self.instance_id = instance_id
        self.log = TurnLog()
        self.question_id: int | None = None
        self.open = False  # an open_turns row of this turn exists
        self.closed = False  # the turn's last row is written (or waits in ``unstored``)
        self.unstored: list[Message] = []  # rows the database could not take yet, in order
        self.asked: str | None = None  # a question whose storing failed (maybe half-way)

    @property
    def waiting(self) -> bool:
        """Something of the turn waits for the database (``flush`` writes it)."""
        return bool(self.unstored) or self.asked is not None or (self.closed and self.open)

    async def add(self, message: Message, *, closes: bool = False) -> int | None:
        """Store a row of the turn. Once one could not be stored (``DatabaseUnavailable``,
        raised), it and the rows after it wait in ``unstored`` (None is returned for those)."""
        if self.unstored:
            self.unstored.append(message)
            return None
        try:
            return await self.store(message, budget_s=self.retry_s, closes=closes)
        except DatabaseUnavailable:
            self.unstored.append(message)
            raise

    async def store(
        self, message: Message, *, budget_s: float, again: bool = False, closes: bool = False
    ) -> int:
        """Write one row, retrying while the database is away. A retry (or ``again``: an
        earlier call failed) first looks for the row, which the failed attempt may have
        stored although its answer was lost."""
        maybe_stored = again
        opens = message.role == "user" and self.instance_id is not None
        closes = closes and self.open
        async for attempt in retries(budget_s=budget_s, what="storing the conversation"):
            with attempt:
                message_id = await add_message(
                    self.engine,
                    session_id=self.session_id,
                    tenant_id=self.tenant_id,
                    message=message,
                    unless_stored_after=(self.log.last_message_id or 0) if maybe_stored else None,
                    opens_turn_for=self.instance_id if opens else None,
                    closes_turn=self.question_id if closes else None,
                )
            maybe_stored = True  # a failed attempt's insert may have been stored
        self.log.last_message_id = message_id
        self.open = opens or (self.open and not closes)
        return message_id

    async def flush(self, *, budget_s: float) -> None:
        """Write the rows that waited, in order, and close the turn if it ended
        (``DatabaseUnavailable`` if the database is still away). A question that could not be
        stored is not answered; if a failed attempt stored it after all, it is closed here."""
        if self.asked is not None:
            await self.close_unanswered(budget_s=budget_s)
        while self.unstored:
            last = len(self.unstored) == 1 and self.closed
            await self.store(self.unstored[0], budget_s=budget_s, again=True, closes=last)
            self.unstored.pop(0)
        if self.closed and self.open:
            await self.end_open_turn(budget_s=budget_s)

    async def close_unanswered(self, *, budget_s: float) -> None:
        assert self.asked is not None
        asked = Message(role="user", content=self.asked)
        async for attempt in retries(budget_s=budget_s, what="looking for a question"):
            with attempt:
                found = await stored_message_id(
                    self.engine, session_id=self.session_id, message=asked
                )
        self.asked = None
        if found is not None:
            self.log.last_message_id = self.question_id = found
            self.open, self.closed = self.instance_id is not None, True
            self.unstored.append(Message(role="assistant", error=NOT_STORED, content=NOT_ANSWERED))

    async def end_open_turn(self, *, budget_s: float) -> None:
        assert self.question_id is not None
        async for attempt in retries(budget_s=budget_s, what="closing the turn"):
            with attempt:
                async with autocommit(self.engine) as connection:
                    await close_turn(connection, self.question_id)
        self.open = False

    async def question(
        self, text: str, *, channel: str | None = None, audio_ms: int | None = None
    ) -> int:
        """Store the question, with its channel (and a spoken one's length); it is never kept
        for later: a question that cannot be stored is not answered, and its asker is told to
        send it again."""
        try:
            question = Message(role="user", content=text, channel=channel, audio_ms=audio_ms)
            self.question_id = await self.store(question, budget_s=self.retry_s)
        except DatabaseUnavailable:
            self.asked = text
            raise
        return self.question_id

    async def model_call(self, call: ModelCall) -> int | None:
        fields = {name: value for name, value in vars(call).items() if name != "tool_calls"}
        requested = {"tool_calls": call.tool_calls} if call.tool_calls else None
        message = Message(role="assistant", tool_input=requested, **fields)
        self.log.usage.add(message)
        self.log.last_model_message_id = await self.add(message)
        return self.log.last_model_message_id

    async def tool_call(self, record: ToolCallRecord) -> int | None:
        self.log.tool_calls.append(record)
        return await self.add(
            Message(
                role="tool",
                tool_name=record.name,
                tool_input=record.input,
                tool_output=record.output,
                error=record.error,
                latency_ms=round(record.elapsed_ms),
            )
        )

    async def answer(self, text: str) -> int | None:
        """An answer written without a model (the question engine): the turn's last row, an
        assistant message with no model, tokens or cost (None when it waits in ``unstored``)."""
        self.closed = True
        return await self.add(Message(role="assistant", content=text), closes=True)

    async def answered(self) -> int | None:
        """The answer is the last model call (calls after it, such as the automatic chart,
        are not): nothing more to write but the turn's end. Its row id."""
        self.closed = True
        if self.open:
            # the answer is stored; if the database is away, the turn's end waits (``waiting``)
            with contextlib.suppress(DatabaseUnavailable):
                await self.end_open_turn(budget_s=self.retry_s)
        return self.log.last_model_message_id

    async def close(
        self,
        *,
        error: str,
        content: str | None = None,
        model: str | None = None,
        latency_ms: int | None = None,
    ) -> int | None:
        """The turn's last row when it ends without a model's answer: its error, and the text
        shown instead (if any). None when it waits in ``unstored``."""
        self.closed = True
        message = Message(
            role="assistant", content=content, model=model, error=error, latency_ms=latency_ms
        )
        return await self.add(message, closes=True)

    async def interrupted(self) -> None:
        """The turn was stopped before its end (the channel went away): say so in the store."""
        if not self.closed:
            await self.close(error=INTERRUPTED)


async def close_abandoned(engine: AsyncEngine, turn: OpenTurn) -> int:
    """The last row of a turn whose process died before it ended (``app.turn.presence``):
    stored as interrupted, shown in the resumed thread and counted as an error in admin."""
    message = Message(role="assistant", error=INTERRUPTED, content=CUT_OFF)
    return await add_message(
        engine,
        session_id=turn.session_id,
        tenant_id=turn.tenant_id,
        message=message,
        closes_turn=turn.question_id,
    )
