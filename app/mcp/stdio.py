"""The MCP server over stdio (``bichat mcp``): a local process acting as one user of one shop,
for Claude Desktop, Cursor and other clients that start their servers themselves. The user is
read again at every call (deactivated: refused). Standard output carries the protocol alone:
anything else that would write there (a library's progress line) goes to standard error."""

from __future__ import annotations

import os
import sys
from io import TextIOWrapper

import anyio
from mcp.server.stdio import stdio_server

from app.config import Settings
from app.mcp.server import McpChannel
from app.store.tokens import Principal, principal_for_user
from app.turn.runtime import open_agent
from db.tenants import TenantRecord


def protocol_output() -> anyio.AsyncFile[str]:
    """The real standard output for the protocol; file descriptor 1 then points at standard
    error, so that nothing else can corrupt the stream."""
    protocol = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return anyio.wrap_file(TextIOWrapper(os.fdopen(protocol, "wb"), encoding="utf-8"))


async def serve_stdio(settings: Settings, *, tenant: TenantRecord, user_id: int) -> None:
    output = protocol_output()
    async with open_agent(settings) as runtime:

        async def who() -> Principal:
            return await principal_for_user(runtime.engine, tenant_id=tenant.id, user_id=user_id)

        await who()  # refuse a deactivated user before serving
        server = McpChannel(runtime, who).server()
        async with stdio_server(stdout=output) as (read, write):
            await server.run(read, write, server.create_initialization_options())
