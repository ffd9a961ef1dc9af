"""Who is using the chat: the login token (Chainlit's signed cookie) names a user, and that
user is read again from the database on every request under ``/chat`` (HTTP calls, socket
connections and their polling requests) and before every turn.

Chainlit alone would trust the token for its whole lifetime (when its data layer finds no
user it falls back to the user inside the token), so a deactivated user kept their access.
``ChatSessions`` checks the token first: its signature, its age (``BICHAT_SESSION_MAX_AGE_S``,
also the token's and cookie's lifetime) and that the user it names is still active in a
tenant that still exists. A token that fails is taken out of the request before Chainlit
sees it (so Chainlit answers 401 and refuses the socket, as for no login at all); a token
that passes makes its user the request's ``current_chat_user``, the only identity the data
layer and bichat's own chat routes act for.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import HTTPException
from starlette.requests import cookie_parser

from app.web.state import get_state
from db.availability import retries
from db.users import ActiveUser, active_user

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "access_token"  # noqa: S105 - the cookie's name (Chainlit's default)
PREFIXES = ("/chat", "/api/chat", "/dashboard")  # the dashboard is the chat user's
_current: ContextVar[ActiveUser | None] = ContextVar("bichat_chat_user", default=None)


def current_chat_user() -> ActiveUser | None:
    """The user the current chat request (or socket event) acts for, read at its start."""
    return _current.get()


def require_chat_user() -> ActiveUser:
    """A FastAPI dependency for bichat's own chat routes: 401 without a valid login."""
    user = current_chat_user()
    if user is None:
        raise HTTPException(status_code=401, detail="Unauthorized")
    return user


def token_cookie(name: str) -> bool:
    """Chainlit's token cookie, or one of its chunks (``access_token_0``, ...)."""
    return name == TOKEN_COOKIE or (
        name.startswith(TOKEN_COOKIE + "_") and name.removeprefix(TOKEN_COOKIE + "_").isdigit()
    )


def token_in(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The login token as Chainlit reads it: the cookie (joined from chunks), else a bearer
    ``Authorization`` header."""
    cookies: dict[str, str] = {}
    bearer = None
    for name, value in headers:
        if name == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
        elif name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            bearer = credentials.strip() if scheme.lower() == "bearer" else None
    if TOKEN_COOKIE in cookies:
        return cookies[TOKEN_COOKIE]
    chunks: list[str] = []
    while f"{TOKEN_COOKIE}_{len(chunks)}" in cookies:
        chunks.append(cookies[f"{TOKEN_COOKIE}_{len(chunks)}"])
    return "".join(chunks) or bearer


def without_token(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with the login token's cookies and any ``Authorization`` removed."""
    kept = []
    for name, value in headers:
        if name == b"authorization":
            continue
        if name == b"cookie":
            parts = [p for p in value.split(b";") if p.strip()]
            others = [p for p in parts if not token_cookie(p.split(b"=")[0].strip().decode())]
            if not others:
                continue
            value = b";".join(others)
        kept.append((name, value))
    return kept


@dataclass(frozen=True)
class TokenClaims:
    """What a valid login token says: who, and when they logged in."""

    user_id: int
    username: str
    issued_at: float


def token_claims(token: str, *, secret: str, max_age_s: int) -> TokenClaims | None:
    """The claims of a valid token issued at most ``max_age_s`` ago, else None."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or issued < time.time() - max_age_s:
        return None
    user_id = (claims.get("metadata") or {}).get("user_id")
    username = claims.get("identifier")
    if not isinstance(user_id, int) or not isinstance(username, str):
        return None
    return TokenClaims(user_id, username, float(issued))


async def reread_user(user_id: int) -> ActiveUser | None:
    """The user as the database has them now (None: deactivated or deleted, or their
    tenant deleted). The database is waited for up to ``BICHAT_DATABASE_RETRY_S`` (a restart);
    then ``DatabaseUnavailable`` (503, ``app.web.availability``)."""
    state = get_state()
    async for attempt in retries(budget_s=state.settings.database_retry_s, what="reading a user"):
        with attempt:
            async with state.runtime.engine.connect() as connection:
                user = await active_user(connection, user_id)
    return user


async def user_of_token(token: str) -> ActiveUser | None:
    signed_on = await login_of_token(token)
    return None if signed_on is None else signed_on[0]


async def login_of_token(token: str) -> tuple[ActiveUser, float] | None:
    """The user a valid token names, read again now, and when they logged in."""
    from chainlit.auth.jwt import get_jwt_secret

    state = get_state()
    claims = token_claims(
        token, secret=get_jwt_secret() or "", max_age_s=state.settings.session_max_age_s
    )
    if claims is None:
        return None
    user = await reread_user(claims.user_id)
    if user is None or user.username != claims.username:
        return None
    return user, claims.issued_at


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


class ChatSessions:
    """ASGI middleware: the chat's requests act for the user their token names, if that
    user is still allowed in; otherwise as if there were no token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not under(scope["path"], PREFIXES):
            await self.app(scope, receive, send)
            return
        token = token_in(scope["headers"])
        user = await user_of_token(token) if token else None
        if token and user is None:
            scope = {**scope, "headers": without_token(scope["headers"])}
        reset = _current.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(reset)
