"""The one writer of a turn's rows: the session (opened or created), the question first, each
model call and tool call as it ends, and last the closing row (a failure, a cut-short note, an
interruption) when the answer is not already the last model call.

Each write is its own short transaction (``app.store.conversations``), so what was stored stays
stored when a later step fails."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from app.answering.events import ModelCall
from app.store.conversations import (
    Message,
    add_message,
    check_session,
    create_session,
    ensure_session,
    title_for,
)
from app.tools.tool import ToolCallRecord
from app.turn.result import TurnLog
from db.tenants import TenantRecord

INTERRUPTED = "interrupted"


async def open_session(
    engine: AsyncEngine,
    *,
    tenant: TenantRecord,
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
            tenant_id=tenant.id,
            user_id=user_id,
            title=title_for(question),
        )
    if session_id is not None:
        return await check_session(
            engine, session_id=session_id, tenant_id=tenant.id, user_id=user_id
        )
    return await create_session(
        engine,
        tenant_id=tenant.id,
        user_id=user_id,
        title=title_for(question),
        channel=channel,
        api_token_id=api_token_id,
    )


class TurnWriter:
    """Writes one turn's rows in the order they happened; ``log`` is what it stored."""

    def __init__(self, engine: AsyncEngine, *, tenant_id: uuid.UUID, session_id: uuid.UUID):
        self.engine, self.tenant_id, self.session_id = engine, tenant_id, session_id
        self.log = TurnLog()
        self.closed = False  # the turn's last row is written

    async def add(self, message: Message) -> int:
        message_id = await add_message(
            self.engine, session_id=self.session_id, tenant_id=self.tenant_id, message=message
        )
        self.log.last_message_id = message_id
        return message_id

    async def question(self, text: str) -> int:
        return await self.add(Message(role="user", content=text))

    async def model_call(self, call: ModelCall) -> int:
        fields = {name: value for name, value in vars(call).items() if name != "tool_calls"}
        requested = {"tool_calls": call.tool_calls} if call.tool_calls else None
        message = Message(role="assistant", tool_input=requested, **fields)
        self.log.usage.add(message)
        self.log.last_model_message_id = await self.add(message)
        return self.log.last_model_message_id

    async def tool_call(self, record: ToolCallRecord) -> int:
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

    async def answer(self, text: str) -> int:
        """An answer written without a model (the question engine): the turn's last row, an
        assistant message with no model, tokens or cost."""
        self.closed = True
        return await self.add(Message(role="assistant", content=text))

    def answered(self) -> int | None:
        """The answer is the last model call (calls after it, such as the automatic chart,
        are not): nothing more to write. Its row id."""
        self.closed = True
        return self.log.last_model_message_id

    async def close(
        self,
        *,
        error: str,
        content: str | None = None,
        model: str | None = None,
        latency_ms: int | None = None,
    ) -> int:
        """The turn's last row when it ends without a model's answer: its error, and the text
        shown instead (if any)."""
        self.closed = True
        return await self.add(
            Message(
                role="assistant", content=content, model=model, error=error, latency_ms=latency_ms
            )
        )

    async def interrupted(self) -> None:
        """The turn was stopped before its end (the channel went away): say so in the store."""
        if not self.closed:
            await self.close(error=INTERRUPTED)
