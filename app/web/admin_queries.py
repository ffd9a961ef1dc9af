"""``/admin/queries``: the shop's slowest reader queries (the SQL tool's, search's and the
semantic layer's, as the shop's reader role ran them) from ``pg_stat_statements``: calls,
mean, max and total time, rows and the normalised text, by mean (default) or total time, the
top 20. Another shop's queries never show (``app.store.slow_queries`` scopes by the shop's
role); when the statistics are not enabled the page says how to enable them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.errors import InvalidInput
from app.store import slow_queries
from app.tools.sql import unwrapped
from app.web.admin_pages import admin_for, error_page, page
from app.web.state import get_state

router = APIRouter(prefix="/admin/queries")


@router.get("", response_class=HTMLResponse)
async def queries_page(request: Request, sort: str = "mean") -> Response:
    admin = await admin_for(request)
    try:
        statistics = await slow_queries.slow_queries(
            get_state().runtime.engine, tenant_id=admin.tenant_id, sort=sort
        )
    except InvalidInput as error:
        return error_page(request, admin, error)
    since = statistics.since.astimezone(ZoneInfo(admin.timezone)) if statistics.since else None
    return page(
        request,
        "admin/queries.html",
        admin,
        statistics=statistics,
        since=since.strftime("%Y-%m-%d %H:%M") if since else None,
        sorts={"mean": "mean time", "total": "total time"},
        shown=unwrapped,  # the SQL tool's queries without its row-size wrapper
    )
