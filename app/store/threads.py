"""A user's own conversations, as the chat lists, reopens, renames, deletes and rates them.

Every function takes the ``Owner`` (tenant and user) and reads or writes only that owner's
rows: another user's thread, or another shop's, is simply not found. Ids arrive from the
browser, so a malformed one is "not found" too, never an error. (What a turn writes goes
through ``app.store.conversations`` and the turn writer; admins read a shop's conversations
through ``app.store.review``.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.review import MESSAGE_COLUMNS, MessageRow

TITLE_CHARS = 200
MAX_MESSAGE_ID = 2**63 - 1
OWNED = "s.tenant_id = :tenant AND s.user_id = :user"

LIST_SQL = text(
    "SELECT s.id, s.title, s.created_at, s.updated_at FROM chat_sessions s "
    f"WHERE {OWNED} "
    "AND (CAST(:search AS text) IS NULL OR s.title ILIKE :search OR EXISTS ("
    "     SELECT 1 FROM chat_messages m WHERE m.session_id = s.id AND m.content ILIKE :search))"
    " AND (CAST(:feedback AS smallint) IS NULL OR EXISTS ("
    "     SELECT 1 FROM chat_messages m WHERE m.session_id = s.id AND m.feedback = :feedback))"
    " AND (CAST(:after AS uuid) IS NULL OR (s.updated_at, s.id) < ("
    "     SELECT c.updated_at, c.id FROM chat_sessions c WHERE c.id = :after"
    "     AND c.tenant_id = :tenant AND c.user_id = :user))"
    " ORDER BY s.updated_at DESC, s.id DESC LIMIT :limit"
)


@dataclass(frozen=True)
class Owner:
    """Who a chat request acts for: one user of one tenant."""

    tenant_id: uuid.UUID
    user_id: int


@dataclass(frozen=True)
class ThreadRow:
    id: uuid.UUID
    title: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Thread:
    head: ThreadRow
    messages: list[MessageRow]


def session_uuid(session_id: str | uuid.UUID | None) -> uuid.UUID | None:
    """The id as a UUID, or None when it is not one (so: no such thread)."""
    if isinstance(session_id, uuid.UUID):
        return session_id
    try:
        return uuid.UUID(str(session_id))
    except ValueError:
        return None


def message_number(message_id: str | int | None) -> int | None:
    """A message id from the browser as a number, or None when it cannot be one."""
    text_id = str(message_id).strip()
    if not text_id.isascii() or not text_id.isdigit() or int(text_id) > MAX_MESSAGE_ID:
        return None
    return int(text_id)


def owner_params(owner: Owner) -> dict[str, object]:
    return {"tenant": owner.tenant_id, "user": owner.user_id}


async def list_threads(
    engine: AsyncEngine,
    owner: Owner,
    *,
    search: str | None = None,
    feedback: int | None = None,
    after: str | None = None,
    limit: int = 20,
) -> list[ThreadRow]:
    """The owner's threads, most recently active first; ``after`` is the last id of the
    previous page (a thread of someone else's ends the list: no such page)."""
    after_id = session_uuid(after) if after else None
    if after and after_id is None:
        return []
    params = {
        **owner_params(owner),
        "search": f"%{search}%" if search else None,
        "feedback": feedback,
        "after": after_id,
        "limit": limit,
    }
    async with engine.connect() as connection:
        rows = await connection.execute(LIST_SQL, params)
        return [ThreadRow(**row._asdict()) for row in rows]


async def owns_thread(engine: AsyncEngine, owner: Owner, session_id: str) -> bool:
    return await thread_head(engine, owner, session_id) is not None


async def thread_head(engine: AsyncEngine, owner: Owner, session_id: str) -> ThreadRow | None:
    wanted = session_uuid(session_id)
    if wanted is None:
        return None
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT s.id, s.title, s.created_at, s.updated_at FROM chat_sessions s "
                    f"WHERE s.id = :id AND {OWNED}"
                ),
                {"id": wanted, **owner_params(owner)},
            )
        ).first()
    return ThreadRow(**row._asdict()) if row else None


async def get_thread(engine: AsyncEngine, owner: Owner, session_id: str) -> Thread | None:
    """The owner's thread with its messages in order; None for anyone else's."""
    head = await thread_head(engine, owner, session_id)
    if head is None:
        return None
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                f"SELECT {MESSAGE_COLUMNS} FROM chat_messages "
                "WHERE session_id = :id AND tenant_id = :tenant ORDER BY created_at, id"
            ),
            {"id": head.id, "tenant": owner.tenant_id},
        )
        return Thread(head, [MessageRow(**row._asdict()) for row in rows])


async def rename_thread(engine: AsyncEngine, owner: Owner, session_id: str, title: str) -> bool:
    return await change_thread(
        engine,
        owner,
        session_id,
        "UPDATE chat_sessions s SET title = :title",
        title=" ".join(title.split())[:TITLE_CHARS],
    )


async def delete_thread(engine: AsyncEngine, owner: Owner, session_id: str) -> bool:
    """Delete the thread and its messages (by cascade); False when it is not the owner's."""
    return await change_thread(engine, owner, session_id, "DELETE FROM chat_sessions s")


async def change_thread(
    engine: AsyncEngine, owner: Owner, session_id: str, statement: str, **values: object
) -> bool:
    wanted = session_uuid(session_id)
    if wanted is None:
        return False
    async with engine.begin() as connection:
        changed = await connection.execute(
            text(f"{statement} WHERE s.id = :id AND {OWNED}"),
            {"id": wanted, **owner_params(owner), **values},
        )
    return bool(changed.rowcount)


async def rate_answer(
    engine: AsyncEngine,
    owner: Owner,
    message_id: str | int,
    *,
    feedback: int | None,
    comment: str | None = None,
) -> bool:
    """Thumbs up (1), down (-1) or cleared (None) on an answer in one of the owner's threads;
    False when the message is not such an answer."""
    number = message_number(message_id)
    if number is None or feedback not in (1, -1, None):
        return False
    async with engine.begin() as connection:
        changed = await connection.execute(
            text(
                "UPDATE chat_messages m SET feedback = :f, feedback_comment = :c "
                "FROM chat_sessions s WHERE m.id = :id AND m.role = 'assistant' "
                f"AND m.session_id = s.id AND m.tenant_id = :tenant AND {OWNED}"
            ),
            {"id": number, "f": feedback, "c": comment, **owner_params(owner)},
        )
    return bool(changed.rowcount)
