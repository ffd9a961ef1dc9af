"""The MCP server over streamable HTTP, as an ASGI app (``app.web.server`` routes ``/mcp`` to
it). Each HTTP request is authorised first by the caller's ``authorise`` (the web layer's: the
bearer API token read again and its rate limit counted); a refusal is answered by
``refuse`` before the SDK sees the request. An MCP session belongs to the token that opened
it: the SDK answers a request of that session with any other token "session not found"."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.lowlevel.server import request_ctx
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from app.errors import BichatError
from app.mcp.server import AskLimit, McpChannel
from app.store.tokens import Principal
from app.turn.runtime import AgentRuntime

PRINCIPAL = "bichat.principal"  # where a request's principal travels in its ASGI scope
Authorise = Callable[[str | None], Awaitable[Principal]]
Refuse = Callable[[BichatError], Callable[[Scope, Receive, Send], Awaitable[None]]]


async def principal_of_request() -> Principal:
    """The principal the web layer put on the HTTP request this call came in."""
    request = request_ctx.get().request
    principal = request.scope.get(PRINCIPAL) if request is not None else None
    if not isinstance(principal, Principal):
        raise RuntimeError("an MCP call over HTTP without an authorised request")
    return principal


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class McpHttp:
    """ASGI app; serves once ``running`` has started the SDK's session manager."""

    def __init__(self, *, authorise: Authorise, refuse: Refuse) -> None:
        self.authorise, self.refuse = authorise, refuse
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(
        self, runtime: AgentRuntime, *, ask_limit: AskLimit | None = None
    ) -> AsyncIterator[None]:
        channel = McpChannel(runtime, principal_of_request, ask_limit=ask_limit)
        manager = StreamableHTTPSessionManager(channel.server())
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.manager is None:
            raise RuntimeError("the MCP server is not running (McpHttp.running)")
        try:
            principal = await self.authorise(header(scope, b"authorization"))
        except BichatError as error:
            await self.refuse(error)(scope, receive, send)
            return
        token = f"bichat-token-{principal.token_id}"
        user = AuthenticatedUser(AccessToken(token=token, client_id=token, scopes=[]))
        scoped: dict[str, Any] = {**scope, PRINCIPAL: principal, "user": user}
        await self.manager.handle_request(scoped, receive, send)
