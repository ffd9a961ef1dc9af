"""Who may use ``/admin``: a signed session cookie naming an app user, checked against the
database on every request (a deactivated or demoted admin loses access at once).

Anonymous requests are sent to the login page, analysts get 403, admins see their own tenant
only. Forms carry a CSRF token derived from the session cookie; the cookie is HttpOnly and
SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

COOKIE = "bichat_admin"
SESSION_MAX_AGE_S = 12 * 3600
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


def user_id_from(secret: str, cookie: str | None) -> int | None:
    if not cookie:
        return None
    try:
        data = serializer(secret).loads(cookie, max_age=SESSION_MAX_AGE_S)
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


USER_SQL = text(
    "SELECT u.id, u.username, u.role, u.tenant_id, t.slug, t.name, t.timezone, t.currency "
    "FROM app_users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = :id AND u.is_active"
)


async def current_admin(request: Request, *, engine: AsyncEngine, secret: str) -> Admin:
    """The admin behind this request; ``LoginRequired`` or ``Forbidden`` otherwise."""
    user_id = user_id_from(secret, request.cookies.get(COOKIE))
    row = None
    if user_id is not None:
        async with engine.connect() as connection:
            row = (await connection.execute(USER_SQL, {"id": user_id})).first()
    if row is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    if row.role != "admin":
        raise Forbidden(f"{row.username} is not an admin of this shop")
    return Admin(
        row.id, row.username, row.tenant_id, row.slug, row.name, row.timezone, row.currency
    )


def safe_next(path: str | None) -> str:
    """Where to go after login: a path of ours, never another site."""
    if path and path.startswith("/admin") and not path.startswith("//"):
        return path
    return "/admin/conversations"
