"""``/admin``: conversations, one conversation, usage and exports, rendered on the server
(Jinja2, autoescaped) for the admins of one tenant; verified queries in ``admin_verified``.

Every page and export goes through ``admin_for`` (login, role, tenant) and every query is
scoped to the admin's tenant; forms that change something carry a CSRF token.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from app.agent import curation
from app.errors import DatabaseUnavailable, InvalidInput, NotFound
from app.store import review, usage
from app.web import admin_digests, admin_queries, admin_tokens, admin_verified
from app.web.admin_auth import (
    COOKIE,
    LOGIN_COOKIE,
    Admin,
    AdminSession,
    Forbidden,
    LoginRequired,
    SignedOn,
    check_csrf,
    check_login_csrf,
    login_csrf,
    login_nonce,
    safe_next,
    session_cookie,
)
from app.web.admin_pages import HERE, admin_for, error_page, page, secret
from app.web.availability import RETRY_AFTER_S
from app.web.security import https_request
from app.web.single_sign_on import (
    chat_token,
    clear_admin_cookie,
    clear_chat_cookies,
    remaining_s,
    set_chat_cookie,
)
from app.web.state import get_state
from app.web.throttle import TooManyLogins
from app.web.usage_chart import usage_svg
from db.users import LoginUser

router = APIRouter(prefix="/admin")
CHAT_HOME, DASHBOARD = "/chat/", "/dashboard"  # what the chat's login opens
STATIC_FILES = {
    "admin.css": "text/css",
    "logo.svg": "image/svg+xml",
}


def install_admin(app: FastAPI) -> None:
    """Add the admin routes and their error pages to the app."""
    app.include_router(router)
    app.include_router(admin_verified.router)
    app.include_router(admin_tokens.router)
    app.include_router(admin_digests.router)
    app.include_router(admin_queries.router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(error.login_url, status_code=303)

    @app.exception_handler(SignedOn)
    async def signed_on(request: Request, signed: SignedOn) -> Response:
        response = RedirectResponse(signed.path, status_code=303)
        set_session(response, request, signed.session)
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        return page(request, "admin/error.html", None, 403, title="Forbidden", message=str(error))


# --- login ------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return login_page(request, next=safe_next(next))


def login_page(
    request: Request,
    *,
    next: str,
    status: int = 200,
    failed: bool = False,
    refused: str = "",
    unavailable: bool = False,
) -> Response:
    """The form with its CSRF token, and the cookie the token is checked against."""
    nonce = login_nonce(request)
    response = page(
        request,
        "admin/login.html",
        None,
        status,
        next=next,
        failed=failed,
        refused=refused,
        unavailable=unavailable,
        login_csrf=login_csrf(secret(), nonce),
    )
    set_admin_cookie(response, request, LOGIN_COOKIE, nonce)
    return response


def set_admin_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None = None
) -> None:
    """An HTTP-only, same-site strict cookie for the admin pages (secure over HTTPS)."""
    secure = https_request(request, get_state().settings)
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/admin"
    )


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    check_login_csrf(request, secret=secret(), token=csrf)
    state = get_state()
    try:
        user = await state.log_in(request, username=username, password=password)
    except TooManyLogins as error:
        response = login_page(request, next=safe_next(next), status=429, refused=str(error))
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    except DatabaseUnavailable:  # not a wrong password: say so, and keep the form
        response = login_page(request, next=safe_next(next), status=503, unavailable=True)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    if user is None:
        return login_page(request, next=safe_next(next), status=401, failed=True)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session(response, request, AdminSession(user.id, time.time()))
    return response


def set_session(response: Response, request: Request, session: AdminSession) -> None:
    """The admin session's cookie; it lasts as long as the login it comes from has left."""
    value = session_cookie(secret(), session)
    max_age = remaining_s(session.logged_in_at)
    set_admin_cookie(response, request, COOKIE, value, max_age=max_age)


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    """Out of the admin pages and the chat alike (one sign-on, one sign-out)."""
    check_csrf(request, secret=secret(), token=csrf)
    response = RedirectResponse("/admin/login", status_code=303)
    clear_admin_cookie(response, request)
    clear_chat_cookies(response, request)
    return response


@router.get("/open-chat")
async def open_chat(request: Request, next: str = CHAT_HOME) -> Response:
    """The chat (or the user's dashboard, ``next=/dashboard``: the chat's login is its
    login), signed on as this admin for what is left of their login."""
    admin = await admin_for(request)
    user = LoginUser(admin.user_id, admin.username, "admin", admin.tenant_slug)
    response = RedirectResponse(chat_next(next), status_code=303)
    token = chat_token(user, logged_in_at=admin.logged_in_at)
    set_chat_cookie(response, request, token, max_age=remaining_s(admin.logged_in_at))
    return response


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    await admin_for(request)
    return RedirectResponse("/admin/conversations", status_code=303)


def chat_next(path: str) -> str:
    """Where ``open-chat`` goes: the chat or the dashboard, never another site."""
    return path if path in (CHAT_HOME, DASHBOARD) else CHAT_HOME


# --- conversations ----------------------------------------------------------------------


def filter_values(request: Request) -> dict[str, str | None]:
    return {k: v for k, v in request.query_params.items() if k in review.FILTER_NAMES}


@router.get("/conversations", response_class=HTMLResponse)
async def conversations(request: Request) -> Response:
    admin = await admin_for(request)
    try:
        filters = review.parse_filters(filter_values(request))
        listing = await review.list_sessions(
            get_state().runtime.engine, tenant_id=admin.tenant_id, filters=filters
        )
    except InvalidInput as error:
        return error_page(request, admin, error)
    return page(
        request,
        "admin/conversations.html",
        admin,
        listing=listing,
        filters=filters,
        query=filters.query_items(),
        link=lambda **change: "?" + urlencode({**filters.query_items(), **change}),
    )


@router.get("/conversations/{session_id}", response_class=HTMLResponse)
async def conversation(request: Request, session_id: str) -> Response:
    admin = await admin_for(request)
    try:
        detail = await review.session_detail(
            get_state().runtime.engine, tenant_id=admin.tenant_id, session_id=session_id
        )
    except NotFound as error:
        return error_page(request, admin, error)
    return page(request, "admin/conversation.html", admin, detail=detail, turns=turns_of(detail))


def turns_of(detail: review.SessionDetail) -> list[dict[str, Any]]:
    """Messages grouped by question; each answer knows whether it can be promoted."""
    turns: list[dict[str, Any]] = []
    promotable = curation.promotable_answers(detail)
    for message in detail.messages:
        if message.role == "user" or not turns:
            turns.append({"messages": []})
        turns[-1]["messages"].append({"row": message, "promotable": message.id in promotable})
    return turns


# --- usage ------------------------------------------------------------------------------


@router.get("/usage", response_class=HTMLResponse)
async def usage_page(
    request: Request, since: str | None = None, until: str | None = None
) -> Response:
    admin = await admin_for(request)
    engine = get_state().runtime.engine
    try:
        period = usage.parse_period(since, until, timezone=admin.timezone)
    except InvalidInput as error:
        return error_page(request, admin, error)
    tables = {
        by: await usage.usage_by(engine, tenant_id=admin.tenant_id, by=by, period=period)
        for by in usage.GROUPINGS
    }
    total = usage.total_of(tables["day"])
    return page(
        request,
        "admin/usage.html",
        admin,
        period=period,
        tables={**tables, "day": [row for row in tables["day"] if row.model_calls or row.errors]},
        total=total,
        chart=usage_svg(tables["day"]),
    )


# --- exports and static -----------------------------------------------------------------


@router.get("/export/conversations.jsonl")
async def export_conversations(request: Request) -> Response:
    admin = await admin_for(request)
    try:
        filters = review.parse_filters(filter_values(request))
    except InvalidInput as error:
        return error_page(request, admin, error)

    async def lines() -> AsyncIterator[bytes]:
        async for item in review.export_sessions(
            get_state().runtime.engine, tenant_id=admin.tenant_id, filters=filters
        ):
            yield (json.dumps(item, ensure_ascii=False) + "\n").encode()

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": attachment(admin, "conversations", "jsonl")},
    )


@router.get("/export/usage.csv")
async def export_usage(
    request: Request, by: str = "day", since: str | None = None, until: str | None = None
) -> Response:
    admin = await admin_for(request)
    try:
        period = usage.parse_period(since, until, timezone=admin.timezone)
        rows = await usage.usage_by(
            get_state().runtime.engine, tenant_id=admin.tenant_id, by=by, period=period
        )
    except InvalidInput as error:
        return error_page(request, admin, error)
    return Response(
        usage.usage_csv(rows, by=by),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(admin, f"usage-by-{by}", "csv")},
    )


def attachment(admin: Admin, name: str, extension: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f'attachment; filename="{admin.tenant_slug}-{name}-{stamp}.{extension}"'


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    return Response(
        (HERE / "static" / name).read_bytes(),
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "max-age=3600"},
    )
