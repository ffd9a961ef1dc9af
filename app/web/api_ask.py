"""Questions to the agent over the REST API, and the token's user's own conversations.

``POST /ask`` is a turn like the chat's (``Turns.stream``): the question stored first, each
call as it ends, the answer or the error last, in a conversation whose channel is ``api``
(with the token that asked). Asked with ``Accept: text/event-stream`` it streams the turn's
typed events as server-sent events (``token``, ``tool_started``, ``tool_finished``,
``chart_shown``, then ``answered`` or ``failed`` with the whole result); otherwise it answers
once, with the result. A client that goes away midway leaves the turn stored as
``interrupted``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.store import review
from app.store.conversations import check_session
from app.store.tokens import Principal
from app.turn.events import Answered, Failed, TurnEvent
from app.turn.runner import MAX_QUESTION_CHARS, check_question
from app.turn.wire import event_json, result_json
from app.web.api_access import current_principal
from app.web.api_problems import MEDIA_TYPE, problem
from app.web.state import get_state

CHANNEL = "api"
EVENT_STREAM = "text/event-stream"
router = APIRouter()


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Continue this conversation of yours (its id from an answer)."
    )


ASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The turn's result (JSON), or its events as server-sent events when "
        "asked with Accept: text/event-stream.",
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    },
    502: {
        "description": "The model provider failed (the failure is stored).",
        "content": {MEDIA_TYPE: {}},
    },
}


def wants_events(request: Request) -> bool:
    return EVENT_STREAM in request.headers.get("accept", "")


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event; the JSON is on one line (no newline can end the field)."""
    payload = json.dumps(data, ensure_ascii=False, default=str)
    return f"event: {event}\ndata: {payload}\n\n".encode()


async def event_stream(events: AsyncGenerator[TurnEvent, None]) -> AsyncIterator[bytes]:
    async with aclosing(events):  # a client that leaves closes the turn: stored interrupted
        async for event in events:
            yield sse(event.type, event_json(event))


@router.post("/ask", tags=["questions"], responses=ASK_RESPONSES, summary="Ask a question")
async def ask(
    body: AskRequest, request: Request, principal: Principal = Depends(current_principal)
) -> Response:
    """Ask the shop's data a question, as the chat does: the agent answers with the same tools
    and guard, and the whole turn is stored (channel `api`, with its tokens and cost)."""
    state = get_state()
    assert principal.token_id is not None
    await state.api_limits.hit(principal.token_id, "ask")
    check_question(body.question)
    if body.conversation_id is not None:  # refused now, before a stream starts
        await check_session(
            state.runtime.engine,
            session_id=body.conversation_id,
            tenant_id=principal.tenant.id,
            user_id=principal.user_id,
        )
    events = state.runtime.turns.stream(
        question=body.question,
        session_id=body.conversation_id,
        channel=CHANNEL,
        **principal.asker(),
    )
    if wants_events(request):
        return StreamingResponse(
            event_stream(events),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    last: TurnEvent | None = None
    async with aclosing(events):
        async for last in events:  # noqa: B007 - the last event is the outcome
            pass
    if isinstance(last, Failed):
        return problem(
            502,
            "answer_failed",
            last.result.answer,
            title="No answer",
            extra=result_json(last.result),
        )
    assert isinstance(last, Answered)
    return JSONResponse(result_json(last.result))


@router.get("/conversations", tags=["questions"], summary="Your conversations")
async def conversations(
    page: int = Query(1, ge=1, le=100_000),
    per_page: int = Query(50, ge=1, le=review.MAX_PER_PAGE),
    channel: str | None = Query(None, description="chat, cli, api or mcp"),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    """Your conversations (every channel), most recently active first, with their totals."""
    filters = review.parse_filters(
        {
            "user": principal.username,
            "channel": channel,
            "page": str(page),
            "per_page": str(per_page),
        }
    )
    listing = await review.list_sessions(
        get_state().runtime.engine, tenant_id=principal.tenant.id, filters=filters
    )
    return listing.to_dict()


@router.get(
    "/conversations/{conversation_id}", tags=["questions"], summary="One of your conversations"
)
async def conversation(
    conversation_id: str, principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    """One of your conversations as it happened: each question, model call (tokens, cost)
    and tool call (SQL, rows, error). Anyone else's is not found."""
    detail = await review.session_detail(
        get_state().runtime.engine,
        tenant_id=principal.tenant.id,
        session_id=conversation_id,
        user_id=principal.user_id,
    )
    return detail.to_dict()
