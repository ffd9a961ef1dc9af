"""Who may use ``/admin``: a signed session cookie naming an app user, checked against the
database on every request (a deactivated or demoted admin loses access at once).

Anonymous requests are sent to the login page, analysts get 403, admins see their own tenant
only. Forms carry a CSRF token derived from the session cookie; the cookie is HttpOnly and
SameSite=Strict and lasts ``BICHAT_SESSION_MAX_AGE_S``. The login form carries one too,
derived from a random cookie the form's page sets (a double-submit token: another site can
neither read the cookie nor guess the token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncEngine

from db.users import active_user

COOKIE = "bichat_admin"
LOGIN_COOKIE = "bichat_admin_login"  # the login form's double-submit nonce
SALT = "bichat-admin-session"


@dataclass(frozen=True)
class Admin:
    user_id: int
    username: str
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    timezone: str
    currency: str
    logged_in_at: float  # the first login's time (the chat's, when signed on from there)


@dataclass(frozen=True)
class AdminSession:
    """What the session cookie holds: who, and when they logged in (with a password, in the
    admin or in the chat). The session ends ``BICHAT_SESSION_MAX_AGE_S`` after that login,
    however it was carried over between chat and admin."""

    user_id: int
    logged_in_at: float


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.login_url = f"/admin/login?next={quote(next_path, safe='/')}"


class SignedOn(Exception):
    """No admin session, but the chat's login of an admin (``app.web.single_sign_on``): the
    handler sets the session and sends the browser back to the same page."""

    def __init__(self, session: AdminSession, path: str) -> None:
        super().__init__(path)
        self.session = session
        self.path = path


class Forbidden(Exception):
    """Logged in, but not an admin (or a form without a valid CSRF token)."""


def serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def session_cookie(secret: str, session: AdminSession) -> str:
    return serializer(secret).dumps({"u": session.user_id, "t": int(session.logged_in_at)})


def session_from(secret: str, cookie: str | None, *, max_age_s: int) -> AdminSession | None:
    """The session a cookie signed by us holds, if its login is at most ``max_age_s`` old."""
    if not cookie:
        return None
    try:
        data, signed = serializer(secret).loads(cookie, max_age=max_age_s, return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    logged_in_at = data.get("t", signed.timestamp())
    if not isinstance(logged_in_at, int | float) or logged_in_at < time.time() - max_age_s:
        return None
    return AdminSession(data["u"], float(logged_in_at))


def csrf_token(secret: str, cookie: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, *, secret: str, token: str | None) -> None:
    cookie = request.cookies.get(COOKIE, "")
    if not token or not hmac.compare_digest(token, csrf_token(secret, cookie)):
        raise Forbidden("the form expired or came from another site: reload the page")


def login_nonce(request: Request) -> str:
    """The login form's nonce: the browser's, or a new one (set it with the form)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)


def login_csrf(secret: str, nonce: str) -> str:
    return csrf_token(secret, "login:" + nonce)


def check_login_csrf(request: Request, *, secret: str, token: str | None) -> None:
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not token or not hmac.compare_digest(token, login_csrf(secret, nonce)):
        raise Forbidden("the login form expired or came from another site: reload the page")


async def current_admin(
    request: Request, *, engine: AsyncEngine, secret: str, max_age_s: int
) -> Admin:
    """The admin behind this request, read again now; ``LoginRequired`` or ``Forbidden``."""
    session = session_from(secret, request.cookies.get(COOKIE), max_age_s=max_age_s)
    user = None
    if session is not None:
        async with engine.connect() as connection:
            user = await active_user(connection, session.user_id)
    if session is None or user is None:
        raise LoginRequired(path_of(request))
    if user.role != "admin":
        raise Forbidden(f"{user.username} is not an admin of this shop")
    return Admin(
        user.id,
        user.username,
        user.tenant_id,
        user.tenant,
        user.tenant_name,
        user.timezone,
        user.currency,
        session.logged_in_at,
    )


def path_of(request: Request) -> str:
    """The request's path and query (where to come back to)."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def safe_next(path: str | None) -> str:
    """Where to go after login: a path of ours, never another site."""
    if path and path.startswith("/admin") and not path.startswith("//"):
        return path
    return "/admin/conversations"
