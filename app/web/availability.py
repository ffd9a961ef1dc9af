"""What the web app says while its database is away (a restart, an outage): "briefly
unavailable" with HTTP 503, never "wrong password" (401) and never a 500 with the driver's text.

- Pages and APIs: an error that says the database cannot be reached (``db.availability``)
  becomes a 503 page (admin) or ``{"detail": "unavailable"}`` (the rest), with ``Retry-After``.
- The chat's login (Chainlit's ``POST /chat/login``): Chainlit turns every failure of the login
  callback into 401, so the callback marks the request (``mark_login_unavailable``) and
  ``UnavailableLogin`` rewrites that 401 into a 503 whose ``detail`` the login page shows
  (``auth.login.errors.unavailable``, ``app.web.branding``).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from app.errors import DatabaseUnavailable
from app.web.admin_pages import page
from app.web.state import get_state
from db.availability import is_unavailable, retries
from db.users import LoginUser, authenticate

RETRY_AFTER_S = 5
UNAVAILABLE_DETAIL = "unavailable"
UNAVAILABLE_TEXT = (
    "bichat is briefly unavailable: its database is not answering (it may be restarting). "
    "Try again in a moment."
)
CHAT_LOGIN_PATH = "/chat/login"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_login: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "bichat_login_unavailable", default=None
)


def mark_login_unavailable() -> None:
    """The login being handled failed because the database is away (not a wrong password)."""
    marks = _login.get()
    if marks is not None:
        marks.append(True)


class UnavailableLogin:
    """ASGI middleware: a chat login that the callback marked unavailable answers 503."""

    def __init__(self, app: ASGIApp, *, path: str = CHAT_LOGIN_PATH) -> None:
        self.app, self.path = app, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        marks: list[bool] = []
        token = _login.set(marks)

        async def answer(message: Message) -> None:
            if not marks:
                await send(message)
            elif message["type"] == "http.response.start":
                body = json.dumps({"detail": UNAVAILABLE_DETAIL}).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(RETRY_AFTER_S).encode()),
                ]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            # the rest of Chainlit's 401 body is dropped

        try:
            await self.app(scope, receive, answer)
        finally:
            _login.reset(token)


async def authenticate_when_available(username: str, password: str) -> LoginUser | None:
    """The user with this password (None: wrong), waiting for the database for up to
    ``BICHAT_DATABASE_RETRY_S``; ``DatabaseUnavailable`` when it stays away."""
    state = get_state()
    budget_s = state.settings.database_retry_s
    async for attempt in retries(budget_s=budget_s, what="checking a login"):
        with attempt:
            async with state.runtime.engine.connect() as connection:
                user = await authenticate(connection, username=username, password=password)
    return user


def unavailable_response(request: Request) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.url.path.startswith("/admin"):
        response = page(
            request,
            "admin/error.html",
            None,
            503,
            title="Briefly unavailable",
            message=UNAVAILABLE_TEXT,
        )
        response.headers.update(headers)
        return response
    return JSONResponse({"detail": UNAVAILABLE_DETAIL}, status_code=503, headers=headers)


def install_availability(app: FastAPI) -> None:
    """503 for requests that failed because the database is away; the chat login too."""

    async def when_unavailable(request: Request, error: Exception) -> Response:
        if not is_unavailable(error):
            raise error  # a real bug: the server's 500 and its log
        return unavailable_response(request)

    for kind in (DatabaseUnavailable, DBAPIError, asyncpg.PostgresError, OSError):
        app.add_exception_handler(kind, when_unavailable)
    app.add_middleware(UnavailableLogin)
