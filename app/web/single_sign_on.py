"""One sign-on between the chat and the admin pages, and one sign-out.

The chat's login token (Chainlit's ``access_token`` cookie, path ``/``) and the admin session
(``bichat_admin``, path ``/admin``, SameSite=Strict) stay two cookies with their own flags;
each can be made from the other, for the same user and the same login:

- **chat → admin**: a GET of an admin page that finds no admin session but a valid chat token
  of an admin (read again from the database: active, role ``admin``, their tenant) gets the
  admin session set and is sent back to the same page. Only GETs that a browser says come
  from our own pages or were typed (``Sec-Fetch-Site: same-origin`` or ``none``; clients
  without the header are not browsers), so a link on another site never signs anyone on, and
  forms still need the admin session's CSRF token.
- **admin → chat**: ``GET /admin/open-chat`` (the admin pages' "Chat" link) sets the chat's
  token for the signed-in admin and redirects to ``/chat/``.

Both carry the first login's time: the session made from the other one ends when that login's
``BICHAT_SESSION_MAX_AGE_S`` is over, never later. Logging out of either ends both (the
other cookie would otherwise sign the user straight back on).
"""

from __future__ import annotations

import time
from typing import Protocol

import jwt
from fastapi import Request
from fastapi.responses import Response

from app.web.admin_auth import COOKIE as ADMIN_COOKIE
from app.web.admin_auth import AdminSession
from app.web.chat_session import TOKEN_COOKIE, login_of_token, token_cookie, token_in
from app.web.security import https_request
from app.web.state import get_state

SIGN_ON_FETCH_SITES = (None, "same-origin", "none")


class ChatLogin(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def tenant(self) -> str: ...


def chat_token(user: ChatLogin, *, logged_in_at: float) -> str:
    """The chat's login token for ``user``, who logged in at ``logged_in_at``: it expires
    ``BICHAT_SESSION_MAX_AGE_S`` after that."""
    from chainlit.auth.jwt import get_jwt_secret  # Chainlit is imported once its root is set
    from chainlit.user import User

    claims = User(
        identifier=user.username,
        metadata={"user_id": user.id, "role": user.role, "tenant": user.tenant},
    ).to_dict()
    lifetime_s = get_state().settings.session_max_age_s
    claims.update(iat=int(logged_in_at), exp=int(logged_in_at) + lifetime_s)
    return jwt.encode(claims, get_jwt_secret() or "", algorithm="HS256")


def remaining_s(logged_in_at: float) -> int:
    """How long a session of a login at ``logged_in_at`` has left (at least 1 s)."""
    lifetime_s = get_state().settings.session_max_age_s
    return max(1, round(logged_in_at + lifetime_s - time.time()))


def set_chat_cookie(response: Response, request: Request, token: str, *, max_age: int) -> None:
    """The chat's token cookie as the chat's login sets it."""
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=https_request(request, get_state().settings),
        path="/",
    )


def clear_chat_cookies(response: Response, request: Request) -> None:
    """Log out of the chat: its token cookie (and any chunks of it) deleted."""
    secure = https_request(request, get_state().settings)
    for name in {TOKEN_COOKIE, *filter(token_cookie, request.cookies)}:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)


def clear_admin_cookie(response: Response, request: Request) -> None:
    """Log out of the admin pages (from anywhere on the site: the cookie's path is given)."""
    secure = https_request(request, get_state().settings)
    response.delete_cookie(
        ADMIN_COOKIE, path="/admin", httponly=True, samesite="strict", secure=secure
    )


async def admin_session_from_chat(request: Request) -> AdminSession | None:
    """The admin session this request's chat token stands for, if it may sign on here: a
    browser's GET from our own pages (or typed), a valid token, its user an admin now."""
    if request.method != "GET":
        return None
    if request.headers.get("sec-fetch-site") not in SIGN_ON_FETCH_SITES:
        return None
    token = token_in(request.scope["headers"])
    signed_on = await login_of_token(token) if token else None
    if signed_on is None or signed_on[0].role != "admin":
        return None
    user, logged_in_at = signed_on
    return AdminSession(user.id, logged_in_at)
