"""``/dashboard``: a user's pinned answers, rendered on the server (Jinja2, autoescaped, the
admin pages' CSP: no script), for any user of the chat (the chat's login cookie, the user read
again on every request by ``ChatSessions``).

- ``GET /dashboard``: the user's own tiles, each run again through the guard as the shop's
  reader role (cached for ``BICHAT_TILE_CACHE_TTL_S``), with its chart and table; the
  dashboards other users of the shop share.
- ``GET /dashboard/{id}``: a dashboard shared in the user's shop, read-only (404 otherwise).
- ``POST``: refresh a dashboard or a tile now (anyone who may view it); remove a tile and
  share or unshare (the owner only). Forms carry a CSRF token derived from the login cookie
  (and the origin check of ``app.web.security`` refuses other sites' posts anyway).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.dashboards.tiles import TileView
from app.errors import NotFound
from app.store import pins
from app.store.pins import DashboardRow, Viewer
from app.web.admin_auth import Forbidden, csrf_token
from app.web.admin_pages import SECURITY_HEADERS, secret, templates
from app.web.chat_session import current_chat_user, token_in
from app.web.state import get_state
from app.web.tile_chart import chart_svg
from db.tenants import TenantRecord, get_tenant
from db.users import ActiveUser

router = APIRouter(prefix="/dashboard", include_in_schema=False)
LOGIN = "/chat/login"
SHOWN_ROWS = 50


class ChatLoginRequired(Exception):
    """No valid chat login: the dashboard sends the browser to the chat's login page."""


def install_dashboard(app: FastAPI) -> None:
    app.include_router(router)

    @app.exception_handler(ChatLoginRequired)
    async def to_login(request: Request, error: ChatLoginRequired) -> Response:
        return RedirectResponse(LOGIN, status_code=303)


def signed_in() -> ActiveUser:
    user = current_chat_user()
    if user is None:
        raise ChatLoginRequired()
    return user


def viewer_of(user: ActiveUser) -> Viewer:
    return Viewer(user.tenant_id, user.id)


def form_token(request: Request) -> str:
    return csrf_token(secret(), "dashboard:" + (token_in(request.scope["headers"]) or ""))


def check_form(request: Request, token: str) -> None:
    if not token or not hmac.compare_digest(token, form_token(request)):
        raise Forbidden("the form expired or came from another site: reload the page")


async def tenant_of(user: ActiveUser) -> TenantRecord:
    async with get_state().runtime.engine.connect() as connection:
        return await get_tenant(connection, user.tenant)


def local_time(stamp: datetime | None, timezone: str) -> str:
    return stamp.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if stamp else ""


def render(
    request: Request, name: str, user: ActiveUser, status: int = 200, **data: object
) -> Response:
    context = {
        "user": user,
        "csrf": form_token(request),
        "chart_svg": chart_svg,
        "when": lambda stamp: local_time(stamp, user.timezone),
        "shown_rows": SHOWN_ROWS,
        **data,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def not_found(request: Request, user: ActiveUser, error: NotFound) -> Response:
    return render(request, "dashboard/missing.html", user, 404, message=error.message)


async def tile_views(
    user: ActiveUser, board: DashboardRow | None, *, refresh: bool = False
) -> list[TileView]:
    if board is None:
        return []
    state = get_state()
    tiles = await pins.tiles_of(state.runtime.engine, viewer_of(user), board.id)
    tenant = await tenant_of(user)
    return [await state.tiles.view(tenant, tile, refresh=refresh) for tile in tiles]


async def show_board(
    request: Request,
    user: ActiveUser,
    board: DashboardRow | None,
    shared: list[DashboardRow] | None,
    notice: str | None = None,
) -> Response:
    """The dashboard page: the user's own board with the boards shared with them (``shared`` is
    a list), or another user's board that they may see (``shared`` is None)."""
    views = await tile_views(user, board)
    own = shared is not None
    return render(
        request, "dashboard/dashboard.html", user,
        board=board, own=own, views=views, shared=shared or [], notice=notice,
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
async def own(request: Request) -> Response:
    user = signed_in()
    engine = get_state().runtime.engine
    board = await pins.own_dashboard(engine, viewer_of(user))
    shared = await pins.shared_with(engine, viewer_of(user))
    return await show_board(request, user, board, shared, notice=request.query_params.get("notice"))


@router.get("/{dashboard_id}", response_class=HTMLResponse)
async def shared(request: Request, dashboard_id: int) -> Response:
    user = signed_in()
    board = await pins.visible_dashboard(get_state().runtime.engine, viewer_of(user), dashboard_id)
    if board is None:
        return not_found(request, user, NotFound(f"no dashboard {dashboard_id} shared with you"))
    if board.owned_by(viewer_of(user)):
        return RedirectResponse("/dashboard", status_code=303)
    return await show_board(request, user, board, None)


def back_to(board: DashboardRow, user: ActiveUser, anchor: str = "") -> RedirectResponse:
    path = "/dashboard" if board.user_id == user.id else f"/dashboard/{board.id}"
    return RedirectResponse(path + anchor, status_code=303)


@router.post("/{dashboard_id}/refresh")
async def refresh_all(request: Request, dashboard_id: int, csrf: str = Form("")) -> Response:
    user = signed_in()
    check_form(request, csrf)
    board = await pins.visible_dashboard(get_state().runtime.engine, viewer_of(user), dashboard_id)
    if board is None:
        return not_found(request, user, NotFound(f"no dashboard {dashboard_id} shared with you"))
    await tile_views(user, board, refresh=True)
    return back_to(board, user)


@router.post("/tiles/{tile_id}/refresh")
async def refresh_tile(request: Request, tile_id: int, csrf: str = Form("")) -> Response:
    user = signed_in()
    check_form(request, csrf)
    state = get_state()
    viewer = viewer_of(user)
    tile = await pins.visible_tile(state.runtime.engine, viewer, tile_id)
    board = None
    if tile is not None:
        board = await pins.visible_dashboard(state.runtime.engine, viewer, tile.dashboard_id)
    if tile is None or board is None:
        return not_found(request, user, NotFound(f"no tile {tile_id} you may see"))
    await state.tiles.view(await tenant_of(user), tile, refresh=True)
    return back_to(board, user, f"#tile-{tile_id}")


@router.post("/tiles/{tile_id}/remove")
async def remove_tile(request: Request, tile_id: int, csrf: str = Form("")) -> Response:
    user = signed_in()
    check_form(request, csrf)
    try:
        await pins.remove_tile(get_state().runtime.engine, viewer_of(user), tile_id)
    except NotFound as error:
        return not_found(request, user, error)
    return RedirectResponse("/dashboard?notice=removed", status_code=303)


@router.post("/share")
async def share(request: Request, shared: str = Form(""), csrf: str = Form("")) -> Response:
    user = signed_in()
    check_form(request, csrf)
    on = shared == "on"
    await pins.share_dashboard(get_state().runtime.engine, viewer_of(user), shared=on)
    return RedirectResponse(f"/dashboard?notice={'shared' if on else 'private'}", status_code=303)
