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


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.login_url = f"/admin/login?next={quote(next_path, safe='/')}"


class Forbidden(Exception):
    """Logged in, but not an admin (or a form without a valid CSRF token)."""


def serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def session_cookie(secret: str, user_id: int) -> str:
    return serializer(secret).dumps({"u": user_id})


def user_id_from(secret: str, cookie: str | None, *, max_age_s: int) -> int | None:
    if not cookie:
        return None
    try:
        data = serializer(secret).loads(cookie, max_age=max_age_s)
    except BadSignature:
        return None
    user = data.get("u") if isinstance(data, dict) else None
    return user if isinstance(user, int) else None


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
    user_id = user_id_from(secret, request.cookies.get(COOKIE), max_age_s=max_age_s)
    user = None
    if user_id is not None:
        async with engine.connect() as connection:
            user = await active_user(connection, user_id)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
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
    )


def safe_next(path: str | None) -> str:
    """Where to go after login: a path of ours, never another site."""
    if path and path.startswith("/admin") and not path.startswith("//"):
        return path
    return "/admin/conversations"
