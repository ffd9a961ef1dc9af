"""``/healthz`` and ``/readyz``, for load balancers and process managers.

- ``/healthz`` (liveness): the process answers HTTP. It stays 200 while the database is away:
  restarting bichat would not bring the database back.
- ``/readyz`` (readiness): the process can take new users now: its database answers within
  ``READY_TIMEOUT_S`` (bichat reconnects by itself when it is back), the schema is at the
  head revision this code expects (a new version rolled out before ``bichat db init`` ran
  waits), and the process is not draining (``SIGTERM``, ``app.turn.drain``). 503
  ``{"status": ..., "reason": ...}`` otherwise: HAProxy and Kubernetes send new users
  elsewhere; users already connected stay.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.web.state import get_state
from db import migrate
from db.availability import is_unavailable

READY_TIMEOUT_S = 2.0
RETRY_AFTER_S = 5


class DatabaseAway(Exception):
    """The database did not answer within ``READY_TIMEOUT_S``."""


async def schema_revision() -> str | None:
    """The database's schema revision; ``DatabaseAway`` when it does not answer."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            return await migrate.current_revision(get_state().runtime.engine)
    except Exception as error:
        if isinstance(error, TimeoutError) or is_unavailable(error):
            raise DatabaseAway from error
        raise


def not_ready(status: str, reason: str) -> JSONResponse:
    return JSONResponse(
        {"status": status, "reason": reason},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_health(app: FastAPI) -> None:
    head = migrate.head_revision()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    async def readyz() -> JSONResponse | dict[str, str]:
        try:
            state = get_state()
        except RuntimeError:
            return not_ready("starting", "the server is starting")
        if state.runtime.turns.drain.draining:
            return not_ready("draining", "the server is stopping: it takes no new question")
        try:
            revision = await schema_revision()
        except DatabaseAway:
            return not_ready("unavailable", "the database does not answer")
        if revision != head:
            return not_ready(
                "migrating",
                f"the schema is at {revision}, this version needs {head}: run bichat db init",
            )
        return {"status": "ready"}
