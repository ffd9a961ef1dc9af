"""Chainlit's history, read from our own conversation store (no second set of tables).

Threads are ``chat_sessions`` (the Chainlit thread id is the session id); steps are built from
``chat_messages``: questions become user messages, tool rows tool steps, answers assistant
messages (with their feedback). The agent writes those rows as a turn runs, so Chainlit's own
step and element writes are not needed and are ignored. Step ids of stored messages carry the
message id and an HMAC tag (``step_id``), so feedback on a resumed answer finds its row and
nobody can forge the id of someone else's answer.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from datetime import datetime
from typing import Any, cast

from chainlit.data.base import BaseDataLayer
from chainlit.types import (
    Feedback,
    PageInfo,
    PaginatedResponse,
    Pagination,
    ThreadDict,
    ThreadFilter,
)
from chainlit.user import PersistedUser, User
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.conversations import set_feedback
from app.tools import registry

LIVE_ANSWERS: dict[str, int] = {}
"""Step id of an answer shown in this process -> its chat_messages id (for feedback)."""

THREADS_SQL = """
SELECT s.id, s.title, s.created_at, s.updated_at, s.user_id, u.username
FROM chat_sessions s JOIN app_users u ON u.id = s.user_id
WHERE s.user_id = :user_id
  AND (CAST(:search AS text) IS NULL OR s.title ILIKE :search OR EXISTS (
        SELECT 1 FROM chat_messages m WHERE m.session_id = s.id AND m.content ILIKE :search))
  AND (CAST(:feedback AS smallint) IS NULL OR EXISTS (
        SELECT 1 FROM chat_messages m WHERE m.session_id = s.id AND m.feedback = :feedback))
  AND (CAST(:cursor AS text) IS NULL OR (s.updated_at, s.id) < (
        SELECT c.updated_at, c.id FROM chat_sessions c WHERE c.id = CAST(:cursor AS uuid)))
ORDER BY s.updated_at DESC, s.id DESC
LIMIT :limit
"""


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def step_tag(message_id: int) -> int:
    """64 bits of an HMAC of the message id under the server's auth secret."""
    key = os.environ.get("CHAINLIT_AUTH_SECRET", "").encode()
    digest = hmac.new(key, str(message_id).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def step_id(message_id: int) -> str:
    """The step id of a stored message: its id and a tag only the server can make, so a
    feedback request cannot name another user's message by guessing ids."""
    return str(uuid.UUID(int=(message_id << 64) | step_tag(message_id)))


def message_id_of(step: str) -> int | None:
    if step in LIVE_ANSWERS:
        return LIVE_ANSWERS[step]
    try:
        value = uuid.UUID(step).int
    except ValueError:
        return None
    message_id, tag = value >> 64, value & (2**64 - 1)
    return message_id if hmac.compare_digest(str(tag), str(step_tag(message_id))) else None


def message_step(row: Any, thread_id: str, username: str) -> dict[str, Any] | None:
    """The Chainlit step for one stored message; None for rows that are not shown."""
    base: dict[str, Any] = {
        "id": step_id(row.id),
        "threadId": thread_id,
        "parentId": None,
        "createdAt": iso(row.created_at),
        "start": iso(row.created_at),
        "end": iso(row.created_at),
        "streaming": False,
        "isError": bool(row.error),
        "metadata": {},
        "input": "",
        "output": "",
    }
    if row.role == "user":
        return {**base, "type": "user_message", "name": username, "output": row.content or ""}
    if row.role == "tool":
        shown = registry.shown_input(row.tool_name, row.tool_input, row.tool_output)
        return {
            **base,
            "type": "tool",
            "name": row.tool_name,
            "input": shown.text,
            "output": registry.outcome_text(
                row.tool_name, row.tool_output, row.error, row.latency_ms
            ),
            "language": shown.language,
            "metadata": {"input": row.tool_input},  # what the call is made with again on resume
        }
    if not (row.content or row.error):
        return None  # a model call that only asked for tools
    return {
        **base,
        "type": "assistant_message",
        "name": "bichat",
        "output": row.content or f"Error: {row.error}",
    }


def feedback_of(row: Any, for_id: str) -> dict[str, Any] | None:
    if row.feedback is None:
        return None
    value = 1 if row.feedback > 0 else 0
    return {"id": str(row.id), "forId": for_id, "value": value, "comment": row.feedback_comment}


def thread_steps(rows: list[Any], thread_id: str, username: str) -> list[dict[str, Any]]:
    """Steps as the live chat makes them: per question a user message, then a run (where the
    chat puts its thumbs) holding the tool steps and the answer. The run's id is the answer's
    signed step id, so feedback given on a resumed thread reaches the answer's row."""
    turns: list[list[Any]] = []
    for row in rows:
        if row.role == "user" or not turns:
            turns.append([])
        turns[-1].append(row)
    steps: list[dict[str, Any]] = []
    for turn in turns:
        shown = [(row, message_step(row, thread_id, username)) for row in turn]
        answers = [row for row, step in shown if step and step["type"] == "assistant_message"]
        answer: Any = answers[-1] if answers else None
        first = shown[0][1]
        run_id = (
            step_id(answer.id)
            if answer is not None
            else str(uuid.uuid5(uuid.NAMESPACE_URL, f"run-{turn[0].id}"))
        )
        run = {**(first or {}), "id": run_id, "type": "run", "name": "on_message", "output": ""}
        run["parentId"] = first["id"] if first and first["type"] == "user_message" else None
        if answer is not None and (feedback := feedback_of(answer, run_id)):
            run["feedback"] = feedback
        for row, step in shown:
            if step is None:
                continue
            if step["type"] == "user_message":
                steps.append(step)
                steps.append(run)
                continue
            step["parentId"] = run_id
            if row is answer:
                step["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"answer-{row.id}"))
                if "feedback" in run:
                    step["feedback"] = run["feedback"]
            steps.append(step)
    return steps


class StoreDataLayer(BaseDataLayer):
    """Chainlit creates it once per process; the engine is the running server's (or given)."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is not None:
            return self._engine
        from app.web.state import get_state  # the server's state, set when it starts

        return get_state().runtime.engine

    async def get_user(self, identifier: str) -> PersistedUser | None:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT u.id, u.username, u.role, u.created_at, t.slug FROM app_users u "
                        "JOIN tenants t ON t.id = u.tenant_id "
                        "WHERE u.username = :name AND u.is_active"
                    ),
                    {"name": identifier},
                )
            ).first()
        if row is None:
            return None
        return PersistedUser(
            id=str(row.id),
            createdAt=iso(row.created_at),
            identifier=row.username,
            metadata={"user_id": row.id, "role": row.role, "tenant": row.slug},
        )

    async def create_user(self, user: User) -> PersistedUser | None:
        return await self.get_user(user.identifier)  # users are created with `bichat users`

    async def upsert_feedback(self, feedback: Feedback) -> str:
        message_id = message_id_of(feedback.forId)
        if message_id is None:
            raise ValueError(f"no stored answer for step {feedback.forId}")
        async with self.engine.connect() as connection:
            tenant_id = await connection.scalar(
                text("SELECT tenant_id FROM chat_messages WHERE id = :id"), {"id": message_id}
            )
        await set_feedback(
            self.engine,
            message_id=message_id,
            tenant_id=tenant_id,
            feedback=1 if feedback.value else -1,
            comment=feedback.comment or None,
        )
        return str(message_id)

    async def delete_feedback(self, feedback_id: str) -> bool:
        async with self.engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE chat_messages SET feedback = NULL, feedback_comment = NULL "
                    "WHERE id = :id"
                ),
                {"id": int(feedback_id)},
            )
        return True

    async def create_element(self, element: Any) -> None:
        return None  # tables, CSV and charts are rebuilt from the stored SQL on resume

    async def get_element(self, thread_id: str, element_id: str) -> Any:
        return None

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        return None

    async def create_step(self, step_dict: Any) -> None:
        return None  # the agent stores every message as the turn runs

    async def update_step(self, step_dict: Any) -> None:
        return None

    async def delete_step(self, step_id: str) -> None:
        return None

    async def get_thread_author(self, thread_id: str) -> str:
        async with self.engine.connect() as connection:
            author = await connection.scalar(
                text(
                    "SELECT u.username FROM chat_sessions s JOIN app_users u ON u.id = s.user_id "
                    "WHERE s.id = CAST(:id AS uuid)"
                ),
                {"id": thread_id},
            )
        return str(author or "")

    async def delete_thread(self, thread_id: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM chat_sessions WHERE id = CAST(:id AS uuid)"), {"id": thread_id}
            )

    async def list_threads(
        self, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        if not filters.userId:
            return PaginatedResponse(pageInfo=PageInfo(False, None, None), data=[])
        feedback = None if filters.feedback is None else (1 if filters.feedback else -1)
        params = {
            "user_id": int(filters.userId),
            "search": f"%{filters.search}%" if filters.search else None,
            "feedback": feedback,
            "cursor": pagination.cursor,
            "limit": pagination.first + 1,
        }
        async with self.engine.connect() as connection:
            rows = (await connection.execute(text(THREADS_SQL), params)).all()
        page = rows[: pagination.first]
        data: list[ThreadDict] = [
            {
                "id": str(r.id),
                "createdAt": iso(r.created_at),
                "name": r.title,
                "userId": str(r.user_id),
                "userIdentifier": r.username,
                "tags": None,
                "metadata": {},
                "steps": [],
                "elements": [],
            }
            for r in page
        ]
        return PaginatedResponse(
            pageInfo=PageInfo(
                hasNextPage=len(rows) > pagination.first,
                startCursor=data[0]["id"] if data else None,
                endCursor=data[-1]["id"] if data else None,
            ),
            data=data,
        )

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        try:
            session = uuid.UUID(thread_id)
        except ValueError:
            return None
        async with self.engine.connect() as connection:
            head = (
                await connection.execute(
                    text(
                        "SELECT s.id, s.title, s.created_at, s.user_id, u.username "
                        "FROM chat_sessions s LEFT JOIN app_users u ON u.id = s.user_id "
                        "WHERE s.id = :id"
                    ),
                    {"id": session},
                )
            ).first()
            if head is None:
                return None
            rows = (
                await connection.execute(
                    text("SELECT * FROM chat_messages WHERE session_id = :id ORDER BY id"),
                    {"id": session},
                )
            ).all()
        steps = thread_steps(list(rows), thread_id, head.username or "")
        thread: dict[str, Any] = {
            "id": thread_id,
            "createdAt": iso(head.created_at),
            "name": head.title,
            "userId": None if head.user_id is None else str(head.user_id),
            "userIdentifier": head.username,
            "tags": None,
            "metadata": {},
            "steps": steps,
            "elements": [],
        }
        return cast(ThreadDict, thread)

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        if name is None:
            return  # sessions are created by the chat handler; only renames matter here
        async with self.engine.begin() as connection:
            await connection.execute(
                text("UPDATE chat_sessions SET title = :name WHERE id = CAST(:id AS uuid)"),
                {"name": name[:200], "id": thread_id},
            )

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        return None

    async def get_favorite_steps(self, user_id: str) -> list[Any]:
        return []
