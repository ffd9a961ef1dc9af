"""``/healthz`` and ``/readyz``, for load balancers and process managers.

- ``/healthz`` (liveness): the process answers HTTP. It stays 200 while the database is away:
  restarting bichat would not bring the database back.
- ``/readyz`` (readiness): the process can serve questions now, its database answers within
  ``READY_TIMEOUT_S``. 503 ``{"status": "unavailable", ...}`` otherwise (send users elsewhere
  until it is back; bichat reconnects by itself).
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.web.state import get_state
from db.availability import is_unavailable

READY_TIMEOUT_S = 2.0


async def database_answers() -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            async with get_state().runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        if isinstance(error, TimeoutError) or is_unavailable(error):
            return False
        raise
    return True


def install_health(app: FastAPI) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    async def readyz() -> JSONResponse | dict[str, str]:
        try:
            get_state()
        except RuntimeError:
            return JSONResponse({"status": "starting"}, status_code=503)
        if not await database_answers():
            return JSONResponse(
                {"status": "unavailable", "reason": "the database does not answer"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return {"status": "ready"}
