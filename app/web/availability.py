"""What the web app says while its database is away (a restart, an outage): "briefly
unavailable" with HTTP 503, never "wrong password" (401) and never a 500 with the driver's text.

- Pages and APIs: an error that says the database cannot be reached (``db.availability``)
  becomes a 503 page (admin) or ``{"detail": "unavailable"}`` (the rest), with ``Retry-After``.
- The logins (``POST /chat/login``, ``app.web.chat_routes``; ``/admin/login``) wait for the
  database up to ``BICHAT_DATABASE_RETRY_S`` (``app.web.throttle``), then answer 503: the
  chat's page shows the ``detail`` ``unavailable`` as ``auth.login.errors.unavailable``
  (``app.web.branding``), the admin form says it in words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.web.admin_pages import page
from db.availability import FAILURES_WHEN_AWAY, is_unavailable

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
    """503 for requests that failed because the database is away."""

    async def when_unavailable(request: Request, error: Exception) -> Response:
        if not is_unavailable(error):
            raise error  # a real bug: the server's 500 and its log
        return unavailable_response(request)

    for kind in FAILURES_WHEN_AWAY:
        app.add_exception_handler(kind, when_unavailable)
