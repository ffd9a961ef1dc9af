"""The web layer's protections that hold for every route: which origins may talk to bichat,
the headers every response carries, and what a browser may load on the chat's page.

- **Origins.** A request that changes something (any method but GET, HEAD and OPTIONS), a
  socket connection and every socket.io request must come from the app's own origin (the
  address the browser used, or ``BICHAT_PUBLIC_URL``) or one in ``BICHAT_ALLOWED_ORIGINS``;
  otherwise 403 (the socket is refused). This is what makes cross-site request forgery moot,
  logins included: a page elsewhere (another port of the same host counts) cannot post
  bichat's login form, rename a thread or open a chat socket with the user's cookies. When a
  browser sends no ``Origin`` it still says where a request comes from in ``Sec-Fetch-Site``,
  and ``cross-site`` or ``same-site`` is refused too; clients that send neither (scripts,
  the CLI's tests) are no browser and carry no one else's cookies.
- **CORS.** Chainlit allowed every origin with credentials. Only ``BICHAT_ALLOWED_ORIGINS``
  are allowed now (none by default: the chat's own page needs no CORS), so another origin's
  script cannot read an answer even from a GET.
- **Headers.** ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
  ``X-Frame-Options: DENY`` everywhere; the chat's Content-Security-Policy (below) on
  ``/chat``, the admin pages' own on ``/admin`` (``ADMIN_CSP``), nothing at all elsewhere.
- **The chat's CSP**: scripts from bichat's own origin and the two small inline scripts of
  Chainlit's page (allowed by their SHA-256, computed from the page at startup); images
  only from bichat or ``data:`` (an image named in an answer, from data or a model, is never
  fetched from elsewhere); connections only back to bichat; no frames, objects or
  ``<base>``; no framing by other sites. Styles may be inline (React and plotly set them).
- **Secure cookies** (``https_request``): behind a TLS proxy bichat sees plain HTTP, so it
  believes ``X-Forwarded-Proto`` only from ``BICHAT_TRUSTED_PROXIES`` (uvicorn rewrites the
  scheme and client address for those alone), or takes ``BICHAT_PUBLIC_URL``'s scheme.
- **API docs**: ``/docs``, ``/redoc`` and ``/openapi.json`` (ours and Chainlit's) are off
  unless ``BICHAT_API_DOCS`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request

from app.config import Settings, origin_of
from app.web.chat_session import ASGIApp, Receive, Scope, Send, under
from app.web.state import voice_on

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SOCKET_PATH = "/chat/ws/socket.io"
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
ADMIN_CSP = (  # no script at all but our own files; no inline script, no eval
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HOST = re.compile(r"[a-z0-9.\-]+(:\d{1,5})?|\[[0-9a-f:.]+\](:\d{1,5})?")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def https_request(request: Request, settings: Settings) -> bool:
    """Whether the browser talks HTTPS to us (cookies then get ``Secure``)."""
    if settings.public_url:
        return settings.public_url.startswith("https:")
    return request.url.scheme in ("https", "wss")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def own_origin(scope: Scope) -> str | None:
    """The origin the browser addressed: the request's scheme (as uvicorn set it, from a
    trusted proxy's ``X-Forwarded-Proto`` if any) and its ``Host``."""
    host = header(scope, b"host")
    if not host:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope["scheme"])
    return f"{scheme}://{host.lower()}"


def inline_script_hashes(page: str) -> list[str]:
    """CSP source expressions allowing exactly the inline scripts of ``page``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in INLINE_SCRIPT.findall(page)
    ]


class WebSecurity:
    """ASGI middleware: the origin check and the headers, for the whole app."""

    def __init__(self, app: ASGIApp, *, settings: Settings, chat_scripts: list[str]) -> None:
        self.app = app
        self.origins = set(settings.extra_origins)
        if settings.public_url:
            self.origins.add(origin_of(settings.public_url))
        self.chat_scripts = " ".join(chat_scripts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self.origin_allowed(scope):
            await refuse(scope, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        headers = self.headers_for(scope)

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (key.lower().encode(), value.encode())
                    for key, value in headers.items()
                    if key.lower().encode() not in present
                ]
            await send(message)

        await self.app(scope, receive, with_headers)

    def origin_allowed(self, scope: Scope) -> bool:
        """Same-origin (or an allowed origin) for whatever could act on the user's behalf."""
        checked = (
            scope["type"] == "websocket"
            or scope.get("method", "GET") not in SAFE_METHODS
            or under(scope["path"], (SOCKET_PATH,))
        )
        if not checked:
            return True
        origin = header(scope, b"origin")
        if origin is None:
            return header(scope, b"sec-fetch-site") not in ("cross-site", "same-site")
        return origin.lower() == own_origin(scope) or origin.lower() in self.origins

    def headers_for(self, scope: Scope) -> dict[str, str]:
        path = scope["path"]
        if under(path, ("/chat",)):
            return {**EVERYWHERE, "Content-Security-Policy": self.chat_csp(scope)}
        if under(path, ("/admin", "/dashboard")):
            return {**EVERYWHERE, "Content-Security-Policy": ADMIN_CSP}
        return dict(EVERYWHERE)

    def chat_csp(self, scope: Scope) -> str:
        host = (header(scope, b"host") or "").lower()
        sockets = f" ws://{host} wss://{host}" if HOST.fullmatch(host) else ""
        # Chainlit's recorder loads its audio worklets from blob: URLs, and worklets obey
        # script-src: allowed only while voice questions are on (only our own scripts, already
        # running, can make a blob: URL)
        worklets = " blob:" if voice_on() else ""
        return (
            f"default-src 'self'; script-src 'self' {self.chat_scripts}{worklets}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
            f"connect-src 'self'{sockets}; media-src 'self'; worker-src 'self' blob:; "
            "frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'"
        )


async def refuse(scope: Scope, send: Send) -> None:
    """403 before anything runs (a socket is closed before it is accepted: HTTP 403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": "cross-origin request refused"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *[(k.lower().encode(), v.encode()) for k, v in EVERYWHERE.items()],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_security(app: FastAPI, settings: Settings, *, chat_page: str) -> None:
    """The origin check, headers and CORS for ``app`` (Chainlit mounted), docs off."""
    from chainlit.config import config
    from chainlit.server import app as chainlit_app

    allowed = sorted(
        set(settings.extra_origins)
        | ({origin_of(settings.public_url)} if settings.public_url else set())
    )
    config.project.allow_origins[:] = allowed  # the list Chainlit's CORS middleware holds
    chainlit_app.middleware_stack = None  # built again (with that list) at its next request
    if not settings.api_docs:
        for served in (app, chainlit_app):
            served.router.routes[:] = [
                route
                for route in served.router.routes
                if getattr(route, "path", None) not in DOC_PATHS
            ]
    app.add_middleware(WebSecurity, settings=settings, chat_scripts=inline_script_hashes(chat_page))
