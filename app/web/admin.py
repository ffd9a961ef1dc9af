"""``/admin``: conversations, one conversation, usage, verified queries and exports, rendered
on the server (Jinja2, autoescaped) for the admins of one tenant.

Every page and export goes through ``admin_for`` (login, role, tenant) and every query is
scoped to the admin's tenant; forms that change something carry a CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import text

from app.agent import curation
from app.errors import BichatError, InvalidInput, NotFound
from app.store import review, usage
from app.tools import registry
from app.web.admin_auth import (
    COOKIE,
    SESSION_MAX_AGE_S,
    Admin,
    Forbidden,
    LoginRequired,
    check_csrf,
    csrf_token,
    current_admin,
    safe_next,
    session_cookie,
)
from app.web.first_run import auth_secret
from app.web.state import get_state
from db.users import authenticate

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(shown_input=registry.shown_input, tool_facts=registry.facts)
router = APIRouter(prefix="/admin")
SECURITY_HEADERS = {
    # no inline scripts at all; plotly.js needs eval and inline styles
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def secret() -> str:
    return auth_secret(get_state().settings)


async def admin_for(request: Request) -> Admin:
    return await current_admin(request, engine=get_state().runtime.engine, secret=secret())


def page(
    request: Request, name: str, admin: Admin | None, status: int = 200, **data: Any
) -> Response:
    cookie = request.cookies.get(COOKIE, "")
    context = {"admin": admin, "csrf": csrf_token(secret(), cookie) if admin else "", **data}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def install_admin(app: FastAPI) -> None:
    """Add the admin routes and their error pages to the app."""
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(error.login_url, status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        return page(request, "admin/error.html", None, 403, title="Forbidden", message=str(error))


def error_page(request: Request, admin: Admin, error: BichatError) -> Response:
    status = 404 if isinstance(error, NotFound) else 400
    title = "Not found" if status == 404 else "Cannot do that"
    return page(request, "admin/error.html", admin, status, title=title, message=error.message)


# --- login ------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "admin/login.html", None, next=safe_next(next), failed=False)


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    async with get_state().runtime.engine.connect() as connection:
        user = await authenticate(connection, username=username.strip(), password=password)
    if user is None:
        return page(request, "admin/login.html", None, 401, next=safe_next(next), failed=True)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        session_cookie(secret(), user.id),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/admin",
    )
    return response


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, secret=secret(), token=csrf)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(COOKIE, path="/admin")
    return response


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    await admin_for(request)
    return RedirectResponse("/admin/conversations", status_code=303)


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
    tables["total"] = [usage.total_of(tables["day"])]
    return page(
        request,
        "admin/usage.html",
        admin,
        period=period,
        tables=tables,
        chart=usage_chart(tables["day"]),
    )


def usage_chart(days: list[usage.UsageRow]) -> str:
    """Plotly figure JSON (drawn by static/admin.js: no inline script)."""
    figure = go.Figure()
    x = [row.key for row in days]
    figure.add_bar(x=x, y=[row.input_tokens + row.output_tokens for row in days], name="tokens")
    figure.add_scatter(
        x=x,
        y=[float(row.cost_usd or 0) for row in days],
        name="cost (USD)",
        yaxis="y2",
        mode="lines+markers",
    )
    figure.update_layout(
        height=320,
        margin={"l": 50, "r": 50, "t": 20, "b": 40},
        yaxis={"title": {"text": "tokens"}},
        yaxis2={"title": {"text": "USD"}, "overlaying": "y", "side": "right"},
        legend={"orientation": "h"},
    )
    return str(figure.to_json()).replace("</", "<\\/")


# --- verified queries -------------------------------------------------------------------


@router.get("/verified", response_class=HTMLResponse)
async def verified(request: Request, message: int | None = None, retired: bool = False) -> Response:
    admin = await admin_for(request)
    draft = await promotion_draft(admin, message) if message else None
    notice = request.query_params.get("notice")
    return await verified_page(request, admin, draft=draft, retired=retired, notice=notice)


async def verified_page(
    request: Request,
    admin: Admin,
    *,
    draft: dict[str, Any] | None,
    retired: bool = False,
    notice: str | None = None,
    error: BichatError | None = None,
) -> Response:
    """The library, the suggestions and the add/promote form (with a refusal, status 400)."""
    engine = get_state().runtime.engine
    return page(
        request,
        "admin/verified.html",
        admin,
        200 if error is None else 400,
        rows=await curation.list_verified(
            engine, tenant_id=admin.tenant_id, include_retired=retired
        ),
        suggestions=await curation.suggestions(engine, tenant_id=admin.tenant_id),
        draft=draft,
        retired=retired,
        notice=notice,
        error=error.message if error else None,
    )


async def promotion_draft(admin: Admin, message_id: int) -> dict[str, Any] | None:
    """The question and SQL of the turn whose answer is ``message_id`` (this tenant's)."""
    engine = get_state().runtime.engine
    async with engine.connect() as connection:
        session_id = await connection.scalar(
            text("SELECT session_id FROM chat_messages WHERE id = :id AND tenant_id = :t"),
            {"id": message_id, "t": admin.tenant_id},
        )
    if session_id is None:
        return None
    detail = await review.session_detail(engine, tenant_id=admin.tenant_id, session_id=session_id)
    pair = curation.promotable_answers(detail).get(message_id)
    return {"question": pair[0], "sql": pair[1], "message": message_id} if pair else None


@router.post("/verified")
async def add_verified(
    request: Request,
    question: str = Form(""),
    sql: str = Form(""),
    message: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    admin = await admin_for(request)
    check_csrf(request, secret=secret(), token=csrf)
    runtime = get_state().runtime
    try:
        await curation.add_verified(
            runtime.engine,
            executor=runtime.executor,
            embeddings=runtime.agent.embeddings,
            tenant_id=admin.tenant_id,
            question=question,
            sql=sql,
            source=curation.PROMOTED if message else curation.ADDED,
            source_message_id=int(message) if message.isdigit() else None,
        )
    except BichatError as error:
        draft = {"question": question, "sql": sql, "message": message}
        return await verified_page(request, admin, draft=draft, error=error)
    return RedirectResponse("/admin/verified?notice=saved", status_code=303)


@router.post("/verified/{query_id}")
async def edit_verified(
    request: Request,
    query_id: int,
    question: str = Form(""),
    sql: str = Form(""),
    action: str = Form("save"),
    csrf: str = Form(""),
) -> Response:
    admin = await admin_for(request)
    check_csrf(request, secret=secret(), token=csrf)
    runtime = get_state().runtime
    try:
        if action == "retire":
            await curation.retire_verified(
                runtime.engine, tenant_id=admin.tenant_id, query_id=query_id
            )
        else:
            await curation.update_verified(
                runtime.engine,
                executor=runtime.executor,
                embeddings=runtime.agent.embeddings,
                tenant_id=admin.tenant_id,
                query_id=query_id,
                question=question,
                sql=sql,
            )
    except NotFound as error:  # another shop's query, or none
        return error_page(request, admin, error)
    except BichatError as error:
        draft = {"question": question, "sql": sql}
        return await verified_page(request, admin, draft=draft, error=error)
    notice = "retired" if action == "retire" else "saved"
    return RedirectResponse(f"/admin/verified?notice={notice}", status_code=303)


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


@lru_cache(maxsize=1)
def plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs()).encode()


@router.get("/static/plotly.min.js", include_in_schema=False)
async def plotly_script() -> Response:
    return Response(
        plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    files = {"admin.css": "text/css", "admin.js": "text/javascript"}
    if name not in files:
        return Response(status_code=404)
    return Response((HERE / "static" / name).read_bytes(), media_type=files[name])
