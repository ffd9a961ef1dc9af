"""How the admin pages are rendered: Jinja2 templates (autoescaped), the signed-in admin and
their CSRF token in every page, security headers, and the filters that turn data into safe
HTML (markdown answers, highlighted SQL)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PostgresLexer

from app.errors import BichatError, NotFound
from app.tools import registry
from app.web.admin_auth import (
    COOKIE,
    Admin,
    LoginRequired,
    SignedOn,
    csrf_token,
    current_admin,
    path_of,
)
from app.web.first_run import auth_secret
from app.web.markdown import render_markdown
from app.web.security import ADMIN_CSP
from app.web.single_sign_on import admin_session_from_chat
from app.web.state import get_state

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": ADMIN_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=256)
def highlight_sql(sql: str | None) -> Markup:
    """SQL as HTML with pygments' token classes (coloured by admin.css); pygments escapes."""
    if not sql:
        return Markup("")
    html = highlight(sql, PostgresLexer(), HtmlFormatter(cssclass="highlight sql-code"))
    return Markup(html)  # noqa: S704  # pygments escapes every token


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["markdown"] = render_markdown
templates.env.filters["sql"] = highlight_sql
templates.env.globals.update(shown_input=registry.shown_input, tool_facts=registry.facts)


def secret() -> str:
    return auth_secret(get_state().settings)


async def admin_for(request: Request) -> Admin:
    """The signed-in admin; without an admin session, the chat's login of an admin signs
    them on (``SignedOn``), anyone else goes to the login page (``LoginRequired``)."""
    state = get_state()
    try:
        return await current_admin(
            request,
            engine=state.runtime.engine,
            secret=secret(),
            max_age_s=state.settings.session_max_age_s,
        )
    except LoginRequired:
        session = await admin_session_from_chat(request)
        if session is None:
            raise
        raise SignedOn(session, path_of(request)) from None


def page(
    request: Request, name: str, admin: Admin | None, status: int = 200, **data: Any
) -> Response:
    cookie = request.cookies.get(COOKIE, "")
    context = {
        "admin": admin,
        "csrf": csrf_token(secret(), cookie) if admin else "",
        "section": request.url.path.removeprefix("/admin/").split("/")[0],
        **data,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, admin: Admin, error: BichatError) -> Response:
    status = 404 if isinstance(error, NotFound) else 400
    title = "Not found" if status == 404 else "Cannot do that"
    return page(request, "admin/error.html", admin, status, title=title, message=error.message)
