"""The chat's HTTP routes that bichat answers itself, ahead of Chainlit's (registered before
Chainlit is mounted at ``/chat``, so they take precedence):

- ``POST /chat/login``: the login form Chainlit's page posts, throttled per address and
  username (429 with ``Retry-After``), the password checked off the event loop, and the
  token cookie set with ``Secure`` when the browser talks HTTPS (directly, through a
  trusted proxy, or per ``BICHAT_PUBLIC_URL``).
- ``PUT`` and ``DELETE /chat/feedback``: thumbs on the user's own answers only; anything else
  is 404 (Chainlit's route turned every error, a forged id included, into a 500).
- ``POST /chat/project/file``: uploads are off (refused before the body is read).
- ``PUT``/``DELETE /chat/project/element`` (custom elements: bichat has none) and
  ``POST /chat/project/action`` for a socket session that is not the user's: 404.
- ``POST /chat/logout``: out of the chat and the admin pages (``app.web.single_sign_on``).
- ``POST /chat/auth/jwt``: 404. Chainlit trades a valid token for a fresh cookie there, so a
  session could be stretched past ``BICHAT_SESSION_MAX_AGE_S`` forever; bichat logs in
  with a password only.
"""

from __future__ import annotations

import time
from typing import Any

from chainlit.types import CallActionRequest, DeleteFeedbackRequest, UpdateFeedbackRequest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.errors import NotFound
from app.web.chat_session import require_chat_user
from app.web.data_layer import owner_of, persisted, rate, unrate
from app.web.single_sign_on import (
    chat_token,
    clear_admin_cookie,
    clear_chat_cookies,
    set_chat_cookie,
)
from app.web.state import get_state
from app.web.throttle import TooManyLogins
from db.users import ActiveUser

CHAT = "/chat"
router = APIRouter(prefix=CHAT, include_in_schema=False)


def install_chat_routes(app: FastAPI) -> None:
    """Add the routes; call before mounting Chainlit."""
    app.include_router(router)


def too_many(error: TooManyLogins) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error)},
        status_code=429,
        headers={"Retry-After": str(error.retry_after_s)},
    )


@router.post("/login")
async def login(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> Response:
    state = get_state()
    try:
        # the database away: DatabaseUnavailable, answered 503 (app.web.availability)
        user = await state.log_in(request, username=form.username, password=form.password)
    except TooManyLogins as error:
        return too_many(error)
    if user is None:
        return JSONResponse({"detail": "credentialssignin"}, status_code=401)
    response = JSONResponse({"success": True})
    token = chat_token(user, logged_in_at=time.time())
    set_chat_cookie(response, request, token, max_age=state.settings.session_max_age_s)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Out of the chat and the admin pages alike (one sign-on, one sign-out)."""
    response = JSONResponse({"success": True})
    clear_chat_cookies(response, request)
    clear_admin_cookie(response, request)
    return response


@router.post("/auth/jwt")
async def token_login() -> JSONResponse:
    return JSONResponse({"detail": "log in with a password"}, status_code=404)


@router.put("/feedback")
async def rate_answer(
    update: UpdateFeedbackRequest, user: ActiveUser = Depends(require_chat_user)
) -> JSONResponse:
    engine = get_state().runtime.engine
    try:
        feedback_id = await rate(engine, owner_of(user), update.feedback.forId, update.feedback)
    except NotFound as error:
        raise HTTPException(status_code=404, detail=error.message) from None
    return JSONResponse({"success": True, "feedbackId": feedback_id})


@router.delete("/feedback")
async def clear_rating(
    payload: DeleteFeedbackRequest, user: ActiveUser = Depends(require_chat_user)
) -> JSONResponse:
    try:
        await unrate(get_state().runtime.engine, owner_of(user), payload.feedbackId)
    except NotFound as error:
        raise HTTPException(status_code=404, detail=error.message) from None
    return JSONResponse({"success": True})


@router.post("/project/file")
async def upload() -> JSONResponse:
    return JSONResponse({"detail": "file uploads are off"}, status_code=403)


@router.put("/project/element")
@router.delete("/project/element")
async def custom_element(user: ActiveUser = Depends(require_chat_user)) -> JSONResponse:
    return JSONResponse({"detail": "no such element"}, status_code=404)


@router.post("/project/action")
async def action(payload: CallActionRequest, user: ActiveUser = Depends(require_chat_user)) -> Any:
    """Chainlit's action route, for the user's own socket session only."""
    from chainlit.server import call_action
    from chainlit.session import WebsocketSession

    session = WebsocketSession.get_by_id(payload.sessionId)
    if session is None or session.user is None or session.user.identifier != user.username:
        return JSONResponse({"detail": "no such session"}, status_code=404)
    return await call_action(payload, persisted(user))
