"""The REST API's errors as ``application/problem+json`` (RFC 9457): ``type``, ``title``,
``status``, ``detail`` and bichat's stable ``code`` (the same codes as the CLI's ``--json``
errors and the tools': the guard's rule for refused SQL, ``unknown_metric``...), plus what
helps to act on it (``retry_after_s``; the server's ``sqlstate``, ``hint`` and ``position``
for SQL it could not run)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from app.errors import BichatError, DatabaseUnavailable, NotFound
from app.semantic.errors import InvalidQuery
from app.sqlguard import UnsafeSQLError
from app.store.tokens import AccessRefused
from app.tools.sql import SqlExecutionError
from app.turn.drain import ServerDraining
from app.web.api_limits import RateLimited

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
# Most specific first: (error class, HTTP status, title)
KINDS: list[tuple[type[BichatError], int, str]] = [
    (AccessRefused, 401, "Not authorised"),
    (RateLimited, 429, "Too many requests"),
    (NotFound, 404, "Not found"),
    (UnsafeSQLError, 400, "The SQL was refused"),
    (SqlExecutionError, 400, "The query could not run"),
    (InvalidQuery, 400, "The semantic query is not valid"),
    (DatabaseUnavailable, 503, "The database does not answer"),
    (ServerDraining, 503, "The server is restarting"),
    (BichatError, 400, "The request is not valid"),
]


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str
    code: str


def problem_type(code: str) -> str:
    return f"urn:bichat:problem:{code}"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {
        "type": problem_type(code),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def error_problem(error: BichatError) -> JSONResponse:
    status, title = next((s, t) for kind, s, t in KINDS if isinstance(error, kind))
    extra: dict[str, Any] = {
        k: v for k, v in error.to_dict()["error"].items() if k not in ("code", "message")
    }
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_s)
        extra["retry_after_s"] = error.retry_after_s
    if isinstance(error, ServerDraining):  # the balancer sends the retry to another one
        headers["Retry-After"] = "1"
        extra["retry_after_s"] = 1
    if isinstance(error, AccessRefused):
        headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{error.code}"'
        )
    return problem(status, error.code, error.message, title=title, headers=headers, extra=extra)


def validation_detail(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        place = ".".join(str(part) for part in item.get("loc", ()))
        parts.append(f"{place}: {item.get('msg')}")
    return "; ".join(parts) or "the request is not valid"


def install_problems(api: FastAPI) -> None:
    """Every error of ``api`` answered as problem details."""

    @api.exception_handler(BichatError)
    async def bichat_error(request: Request, error: BichatError) -> JSONResponse:
        return error_problem(error)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem(422, "invalid_input", validation_detail(error), title="Invalid input")

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = {404: "unknown_path", 405: "method_not_allowed"}.get(error.status_code, "error")
        headers = dict(error.headers) if error.headers else None
        return problem(error.status_code, code, str(error.detail), headers=headers)

    @api.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> JSONResponse:
        log.exception("API request failed: %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "something went wrong on our side; it is logged")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": description}
    for status, description in (
        (400, "Bad input, refused SQL or a query that could not run"),
        (401, "No token, or a token that is unknown, revoked, expired or of a deactivated user"),
        (404, "Not found (in this shop, for this user)"),
        (422, "The request does not match its schema"),
        (429, "Rate limit reached (see Retry-After)"),
    )
}
