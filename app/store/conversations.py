"""Chat sessions and their messages: every question, model call and tool call, as it happens.

Each write is its own short transaction on the owner engine, so what was stored stays stored
when a later step fails (the user's question is written before any model is called).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.errors import InvalidInput, NotFound
from app.store.review import json_ready

TITLE_CHARS = 80

# One statement (one round trip, its own transaction); the trigger of migration 0006 updates
# the session's updated_at and totals and the day's usage. Messages are written while a turn
# runs, so each write counts.
MESSAGE_COLUMNS = (
    "session_id, tenant_id, role, content, model, input_tokens, output_tokens, "
    "cached_input_tokens, cost_usd, latency_ms, tool_name, tool_input, tool_output, error, "
    "channel, audio_ms"
)
MESSAGE_VALUES = ", ".join(":" + name.strip() for name in MESSAGE_COLUMNS.split(","))
JSON_PARAMETERS = (
    # Python None is SQL NULL (plain JSONB would store the JSON value null)
    bindparam("tool_input", type_=JSONB(none_as_null=True)),
    bindparam("tool_output", type_=JSONB(none_as_null=True)),
)
# A row that an earlier attempt of the same write may have stored although its answer was
# lost (the connection broke after the statement was sent): the session's identical row after
# ``after``, from the last minutes.
STORED_MESSAGE = (
    "SELECT id FROM chat_messages WHERE session_id = :session_id "
    "AND id > :after AND created_at > now() - interval '10 minutes' AND role = :role "
    "AND content IS NOT DISTINCT FROM CAST(:content AS text) "
    "AND model IS NOT DISTINCT FROM CAST(:model AS text) "
    "AND tool_name IS NOT DISTINCT FROM CAST(:tool_name AS text) "
    "AND error IS NOT DISTINCT FROM CAST(:error AS text) ORDER BY id LIMIT 1"
)


@functools.cache
def insert_message(*, once: bool, opens: bool, closes: bool) -> TextClause:
    """The write of one message, in one statement: ``once``, unless an earlier attempt stored
    it (then that row's id is returned); ``opens`` the turn of a question (``open_turns``, for
    instance ``:instance_id``); ``closes`` the turn of question ``:closes``."""
    parts = [f"stored AS ({STORED_MESSAGE})"] if once else []
    source = (
        f"SELECT {MESSAGE_VALUES} WHERE NOT EXISTS (SELECT 1 FROM stored)"
        if once
        else f"VALUES ({MESSAGE_VALUES})"
    )
    parts.append(f"added AS (INSERT INTO chat_messages ({MESSAGE_COLUMNS}) {source} RETURNING id)")
    if opens:
        parts.append(
            "opened AS (INSERT INTO open_turns (question_id, instance_id) "
            "SELECT id, :instance_id FROM added)"
        )
    if closes:
        parts.append("closed AS (DELETE FROM open_turns WHERE question_id = :closes)")
    found = "SELECT id FROM added" + (" UNION ALL SELECT id FROM stored" if once else "")
    return text(f"WITH {', '.join(parts)} {found}").bindparams(*JSON_PARAMETERS)


TOTALS_SQL = text(
    "SELECT questions, model_calls, tool_calls, input_tokens, output_tokens, "
    "cached_input_tokens, cost_usd, unpriced_calls, errors "
    "FROM chat_session_totals WHERE session_id = :id"
)


@dataclass
class Message:
    """One row of ``chat_messages`` (what a turn writes)."""

    role: str
    content: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cost_usd: Decimal | None = None
    latency_ms: int | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_output: Any = None
    error: str | None = None
    channel: str | None = None  # a question's: chat, cli, api, mcp or voice
    audio_ms: int | None = None  # a spoken question's recording length


@dataclass
class SessionTotals:
    questions: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: Decimal | None = None
    unpriced_calls: int = 0
    errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return json_ready(self.__dict__)


@dataclass
class HistoryItem:
    role: str  # user or assistant
    content: str
    created_at: datetime | None = field(default=None)


@dataclass
class StoredCall:
    """A successful tool call of an earlier turn, as stored (its input is the query it ran)."""

    tool_name: str
    tool_input: Any
    tool_output: Any


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose single statements commit on their own (no BEGIN/COMMIT trips)."""
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


def title_for(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


async def create_session(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    user_id: int | None,
    title: str | None,
    channel: str = "chat",
    api_token_id: int | None = None,
) -> uuid.UUID:
    """A new conversation, with the channel it is asked from (``chat``, ``cli``, ``api``,
    ``mcp``) and the API token it is asked with, if any."""
    async with autocommit(engine) as connection:
        session_id = await connection.scalar(
            text(
                "INSERT INTO chat_sessions (tenant_id, user_id, title, channel, api_token_id) "
                "VALUES (:t, :u, :title, :channel, :token) RETURNING id"
            ),
            {
                "t": tenant_id,
                "u": user_id,
                "title": title,
                "channel": channel,
                "token": api_token_id,
            },
        )
    assert isinstance(session_id, uuid.UUID)
    return session_id


async def ensure_session(
    engine: AsyncEngine,
    *,
    session_id: uuid.UUID,
    tenant_id: uuid.UUID,
    user_id: int | None,
    title: str | None,
) -> uuid.UUID:
    """Create the session with this id if it does not exist (the chat UI names its threads
    first), then check that it belongs to the tenant and user."""
    async with autocommit(engine) as connection:
        await connection.execute(
            text(
                "INSERT INTO chat_sessions (id, tenant_id, user_id, title) "
                "VALUES (:id, :t, :u, :title) ON CONFLICT (id) DO NOTHING"
            ),
            {"id": session_id, "t": tenant_id, "u": user_id, "title": title},
        )
    return await check_session(engine, session_id=session_id, tenant_id=tenant_id, user_id=user_id)


async def check_session(
    engine: AsyncEngine, *, session_id: str | uuid.UUID, tenant_id: uuid.UUID, user_id: int | None
) -> uuid.UUID:
    """The session id if it belongs to the tenant (and to the user, when one is given)."""
    try:
        wanted = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        raise InvalidInput(
            f"invalid session id {session_id!r}: expected a UUID", code="invalid_session"
        ) from None
    async with engine.connect() as connection:
        owner = (
            await connection.execute(
                text("SELECT tenant_id, user_id FROM chat_sessions WHERE id = :id"),
                {"id": wanted},
            )
        ).first()
    if owner is None or owner.tenant_id != tenant_id or (user_id and owner.user_id != user_id):
        raise NotFound(f"no conversation {wanted} for this user", code="unknown_session")
    return wanted


async def add_message(
    engine: AsyncEngine,
    *,
    session_id: uuid.UUID,
    tenant_id: uuid.UUID,
    message: Message,
    unless_stored_after: int | None = None,
    opens_turn_for: int | None = None,
    closes_turn: int | None = None,
) -> int:
    """Store one message (its own transaction) and mark the session as updated.

    ``unless_stored_after`` (a message id of the session, 0 for none): this is a retry, and an
    earlier attempt may have been stored; an identical row after that id is returned instead
    of writing the message twice. ``opens_turn_for`` (an instance id): the message is a
    question, now being answered by that instance; ``closes_turn`` (a question's id): the
    message is the last row of that question's turn."""
    values = {"session_id": session_id, "tenant_id": tenant_id, **message.__dict__}
    values |= {"after": unless_stored_after, "instance_id": opens_turn_for}
    values["closes"] = closes_turn
    statement = insert_message(
        once=unless_stored_after is not None,
        opens=opens_turn_for is not None,
        closes=closes_turn is not None,
    )
    async with autocommit(engine) as connection:
        message_id = await connection.scalar(statement, values)
    assert isinstance(message_id, int)
    return message_id


async def stored_message_id(
    engine: AsyncEngine, *, session_id: uuid.UUID, message: Message, after: int = 0
) -> int | None:
    """The id of a row like ``message`` that an attempt whose answer was lost may have stored
    (after message ``after`` of the session, in the last minutes); None if there is none."""
    keys = ("role", "content", "model", "tool_name", "error")
    values = {"session_id": session_id, "after": after} | {k: getattr(message, k) for k in keys}
    async with engine.connect() as connection:
        found = await connection.scalar(text(STORED_MESSAGE), values)
    return int(found) if found is not None else None


async def session_history(engine: AsyncEngine, *, session_id: uuid.UUID) -> list[HistoryItem]:
    """Questions and the answers shown for them, oldest first (no tool rows, no failures)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT role, content, created_at FROM chat_messages WHERE session_id = :id "
                "AND role IN ('user', 'assistant') AND error IS NULL "
                "AND coalesce(content, '') <> '' ORDER BY created_at, id"
            ),
            {"id": session_id},
        )
        return [HistoryItem(r.role, r.content, r.created_at) for r in rows]


async def recent_calls(
    engine: AsyncEngine, *, session_id: uuid.UUID, limit: int = 10
) -> list[StoredCall]:
    """The session's latest successful tool calls, oldest first (follow-ups build on them)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT tool_name, tool_input, tool_output FROM chat_messages "
                "WHERE session_id = :id AND role = 'tool' AND error IS NULL "
                "ORDER BY id DESC LIMIT :n"
            ),
            {"id": session_id, "n": limit},
        )
        return [StoredCall(r.tool_name, r.tool_input, r.tool_output) for r in rows][::-1]


async def session_totals(engine: AsyncEngine, *, session_id: uuid.UUID) -> SessionTotals:
    async with engine.connect() as connection:
        row = (await connection.execute(TOTALS_SQL, {"id": session_id})).first()
    if row is None:
        raise NotFound(f"no conversation {session_id}", code="unknown_session")
    return SessionTotals(**row._asdict())


async def set_feedback(
    engine: AsyncEngine,
    *,
    message_id: int,
    tenant_id: uuid.UUID,
    feedback: int | None,
    comment: str | None = None,
) -> None:
    """Thumbs up (1), down (-1) or cleared (None) on an assistant message of the tenant."""
    if feedback not in (1, -1, None):
        raise InvalidInput("feedback must be 1, -1 or empty", code="invalid_feedback")
    async with engine.begin() as connection:
        updated = await connection.execute(
            text(
                "UPDATE chat_messages SET feedback = :f, feedback_comment = :c "
                "WHERE id = :id AND tenant_id = :t AND role = 'assistant'"
            ),
            {"f": feedback, "c": comment, "id": message_id, "t": tenant_id},
        )
    if updated.rowcount == 0:
        raise NotFound(f"no answer {message_id} to rate", code="unknown_message")
