"""``/admin/digests``: the shop's scheduled digests and their runs, newest first, with each
run's status, attempts, the channels it reached and its error (``?failed=1``: only runs with
an error). Digests are made with ``bichat digest create`` (the webhook addresses are the
server operator's choice)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.store import digests
from app.web.admin_pages import admin_for, page
from app.web.state import get_state

router = APIRouter(prefix="/admin/digests")
SHOWN_RUNS = 200


@router.get("", response_class=HTMLResponse)
async def digests_page(request: Request, failed: str = "") -> Response:
    admin = await admin_for(request)
    engine = get_state().runtime.engine
    zone = ZoneInfo(admin.timezone)
    return page(
        request,
        "admin/digests.html",
        admin,
        digests=await digests.digests_of(engine, admin.tenant_id),
        runs=await digests.runs(
            engine, tenant_id=admin.tenant_id, failed=bool(failed), limit=SHOWN_RUNS
        ),
        failed=bool(failed),
        when=lambda stamp: stamp.astimezone(zone).strftime("%Y-%m-%d %H:%M") if stamp else "",
    )
