"""``/admin/tokens``: an admin manages their shop's personal API tokens (REST API and MCP):
every token of the shop's users with its status and last use; a form to make one for any
active user of the shop (shown once, on the page that answers the form: only its hash is
kept); revoking one stops it at its next request. Analysts have no admin pages: an admin (or
``bichat tokens create`` on the server) makes their tokens."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.errors import BichatError
from app.store import tokens
from app.web.admin_auth import Admin, check_csrf
from app.web.admin_pages import admin_for, page, secret
from app.web.state import get_state

router = APIRouter(prefix="/admin/tokens")
NOTICES = {"revoked": "Revoked: its next request is refused."}


async def tokens_page(
    request: Request,
    admin: Admin,
    *,
    created: tuple[tokens.TokenRecord, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    engine = get_state().runtime.engine
    return page(
        request,
        "admin/tokens.html",
        admin,
        status,
        tokens=await tokens.list_tokens(engine, tenant_id=admin.tenant_id),
        users=await tokens.active_users(engine, tenant_id=admin.tenant_id),
        created=created,
        error=error,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        max_days=tokens.MAX_EXPIRES_DAYS,
    )


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request) -> Response:
    return await tokens_page(request, await admin_for(request))


@router.post("")
async def create(
    request: Request,
    user_id: int = Form(...),
    name: str = Form(""),
    expires_days: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    admin = await admin_for(request)
    check_csrf(request, secret=secret(), token=csrf)
    try:
        days = int(expires_days) if expires_days.strip() else None
    except ValueError:
        return await tokens_page(request, admin, error="days must be a whole number", status=400)
    try:
        created = await tokens.create_token(
            get_state().runtime.engine,
            tenant_id=admin.tenant_id,
            user_id=user_id,
            name=name,
            expires_days=days,
            created_by=admin.user_id,
        )
    except BichatError as failure:
        return await tokens_page(request, admin, error=failure.message, status=400)
    return await tokens_page(request, admin, created=created)


@router.post("/{token_id}/revoke")
async def revoke(request: Request, token_id: int, csrf: str = Form("")) -> Response:
    admin = await admin_for(request)
    check_csrf(request, secret=secret(), token=csrf)
    try:
        await tokens.revoke_token(
            get_state().runtime.engine, tenant_id=admin.tenant_id, token_id=token_id
        )
    except BichatError as failure:
        return await tokens_page(request, admin, error=failure.message, status=404)
    return RedirectResponse("/admin/tokens?notice=revoked", status_code=303)
