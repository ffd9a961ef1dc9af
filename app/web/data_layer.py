"""Chainlit's history: a thin adapter over ``app.store.threads`` (no SQL here).

Every method acts for the request's user (``current_chat_user``, re-read from the database
by ``app.web.chat_session``) and passes them to the store as the ``Owner``, whose functions
read and write only that user's rows: another user's thread or answer is "not found", and
without a user nothing is found at all. Whatever ids Chainlit passes on from the browser are
looked up under that owner, never trusted.

Threads are ``chat_sessions`` (the Chainlit thread id is the session id); steps are built from
``chat_messages``: questions become user messages, tool rows tool steps, answers assistant
messages (with their feedback). The turn writes those rows as it runs, so Chainlit's own
step and element writes are not needed and are ignored. Step ids of stored messages carry the
message id and an HMAC tag (``step_id``), so feedback on a resumed answer finds its row.
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
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import NotFound
from app.markdown_text import escape_lines
from app.store import threads
from app.store.review import MessageRow
from app.store.threads import Owner
from app.tools import registry
from app.web.chat_session import current_chat_user
from db.users import ActiveUser

LIVE_ANSWERS: dict[str, int] = {}
"""Step id of an answer shown in this process -> its chat_messages id (for feedback)."""


ORDER = {"user": 0, "tool": 1, "assistant": 2}  # within a turn, as the chat shows it


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


def message_step(row: MessageRow, thread_id: str, username: str) -> dict[str, Any] | None:
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
            "output": escape_lines(
                registry.outcome_text(row.tool_name, row.tool_output, row.error, row.latency_ms)
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


def feedback_of(row: MessageRow, for_id: str) -> dict[str, Any] | None:
    if row.feedback is None:
        return None
    value = 1 if row.feedback > 0 else 0
    return {"id": str(row.id), "forId": for_id, "value": value, "comment": row.feedback_comment}


def thread_steps(rows: list[MessageRow], thread_id: str, username: str) -> list[dict[str, Any]]:
    """Steps as the live chat makes them: per question a user message, then a run (where the
    chat puts its thumbs) holding the tool steps and the answer. The run's id is the answer's
    signed step id, so feedback given on a resumed thread reaches the answer's row."""
    turns: list[list[MessageRow]] = []
    for row in rows:
        if row.role == "user" or not turns:
            turns.append([])
        turns[-1].append(row)
    steps: list[dict[str, Any]] = []
    for turn in turns:
        shown = sorted(  # the question, its steps, then the answer (never a step below it)
            ((row, message_step(row, thread_id, username)) for row in turn),
            key=lambda pair: ORDER.get(pair[0].role, 1),
        )
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


def persisted(user: ActiveUser) -> PersistedUser:
    return PersistedUser(
        id=str(user.id),
        createdAt=iso(user.created_at),
        identifier=user.username,
        metadata={"user_id": user.id, "role": user.role, "tenant": user.tenant},
    )


def owner_of(user: ActiveUser | None) -> Owner | None:
    return None if user is None else Owner(user.tenant_id, user.id)


def thread_dict(thread: threads.Thread, user: ActiveUser) -> ThreadDict:
    thread_id = str(thread.head.id)
    data: dict[str, Any] = {
        "id": thread_id,
        "createdAt": iso(thread.head.created_at),
        "name": thread.head.title,
        "userId": str(user.id),
        "userIdentifier": user.username,
        "tags": None,
        "metadata": {},
        "steps": thread_steps(thread.messages, thread_id, user.username),
        "elements": [],
    }
    return cast(ThreadDict, data)


def listed(row: threads.ThreadRow, user: ActiveUser) -> ThreadDict:
    data: dict[str, Any] = {
        "id": str(row.id),
        "createdAt": iso(row.created_at),
        "name": row.title,
        "userId": str(user.id),
        "userIdentifier": user.username,
        "tags": None,
        "metadata": {},
        "steps": [],
        "elements": [],
    }
    return cast(ThreadDict, data)


async def rate(engine: AsyncEngine, owner: Owner | None, step: str, feedback: Feedback) -> str:
    """Thumbs on the answer a step shows, if it is one of the owner's; ``NotFound`` else."""
    message_id = message_id_of(step)
    if owner is None or message_id is None:
        raise NotFound(f"no answer of yours for step {step}", code="unknown_message")
    rated = await threads.rate_answer(
        engine,
        owner,
        message_id,
        feedback=1 if feedback.value else -1,
        comment=feedback.comment or None,
    )
    if not rated:
        raise NotFound(f"no answer of yours for step {step}", code="unknown_message")
    return str(message_id)


async def unrate(engine: AsyncEngine, owner: Owner | None, feedback_id: str) -> None:
    """Clear the thumbs of one of the owner's answers (the feedback id is its message id)."""
    if owner is None or not await threads.rate_answer(engine, owner, feedback_id, feedback=None):
        raise NotFound(f"no feedback {feedback_id!r} of yours", code="unknown_feedback")


class StoreDataLayer(BaseDataLayer):
    """Chainlit creates it once per process; the engine is the running server's (or given).
    Each call acts for ``current_chat_user()``."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is not None:
            return self._engine
        from app.web.state import get_state  # the server's state, set when it starts

        return get_state().runtime.engine

    @property
    def owner(self) -> Owner | None:
        return owner_of(current_chat_user())

    async def get_user(self, identifier: str) -> PersistedUser | None:
        user = current_chat_user()
        return persisted(user) if user is not None and user.username == identifier else None

    async def create_user(self, user: User) -> PersistedUser | None:
        return await self.get_user(user.identifier)  # users are created with `bichat users`

    async def upsert_feedback(self, feedback: Feedback) -> str:
        return await rate(self.engine, self.owner, feedback.forId, feedback)

    async def delete_feedback(self, feedback_id: str) -> bool:
        await unrate(self.engine, self.owner, feedback_id)
        return True

    async def create_element(self, element: Any) -> None:
        return None  # tables, CSV and charts are rebuilt from the stored SQL on resume

    async def get_element(self, thread_id: str, element_id: str) -> Any:
        return None

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        return None

    async def create_step(self, step_dict: Any) -> None:
        return None  # the turn stores every message as it runs

    async def update_step(self, step_dict: Any) -> None:
        return None

    async def delete_step(self, step_id: str) -> None:
        return None

    async def get_thread_author(self, thread_id: str) -> str:
        """The user's name if the thread is theirs, else "" (Chainlit then answers 404)."""
        user, owner = current_chat_user(), self.owner
        if user is None or owner is None:
            return ""
        return user.username if await threads.owns_thread(self.engine, owner, thread_id) else ""

    async def delete_thread(self, thread_id: str) -> None:
        if (owner := self.owner) is not None:
            await threads.delete_thread(self.engine, owner, thread_id)

    async def list_threads(
        self, pagination: Pagination, filters: ThreadFilter
    ) -> PaginatedResponse[ThreadDict]:
        user, owner = current_chat_user(), self.owner
        if user is None or owner is None:
            return PaginatedResponse(pageInfo=PageInfo(False, None, None), data=[])
        rows = await threads.list_threads(
            self.engine,
            owner,
            search=filters.search,
            feedback=None if filters.feedback is None else (1 if filters.feedback else -1),
            after=pagination.cursor,
            limit=pagination.first + 1,
        )
        data = [listed(row, user) for row in rows[: pagination.first]]
        return PaginatedResponse(
            pageInfo=PageInfo(
                hasNextPage=len(rows) > pagination.first,
                startCursor=data[0]["id"] if data else None,
                endCursor=data[-1]["id"] if data else None,
            ),
            data=data,
        )

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        user, owner = current_chat_user(), self.owner
        if user is None or owner is None:
            return None
        if self._engine is None:  # in the server: a turn its dead instance left open is
            from app.web.state import get_state  # closed before the thread is shown

            presence = get_state().runtime.presence
            if presence is not None:
                await presence.settle(thread_id)
        thread = await threads.get_thread(self.engine, owner, thread_id)
        return None if thread is None else thread_dict(thread, user)

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Renames only: sessions are created by the turn, and nothing else is kept (sharing
        is off, so its metadata is not stored)."""
        if name is not None and (owner := self.owner) is not None:
            await threads.rename_thread(self.engine, owner, thread_id, name)

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        return None

    async def get_favorite_steps(self, user_id: str) -> list[Any]:
        return []
