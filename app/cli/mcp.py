"""``bichat mcp``: the MCP server over stdio, as one user of one shop (for Claude Desktop,
Cursor and other MCP clients that start their servers). Standard output is the protocol."""

from __future__ import annotations

import typer

from app.cli.runner import run
from app.cli.tenant_choice import TENANT, tenant_and_user
from app.config import Settings
from db.engine import open_engine


def mcp_command(
    tenant: str | None = TENANT,
    user: str = typer.Option(..., "--user", help="Act as this user of the shop."),
) -> None:
    """Serve bichat's tools, resources and prompts to an MCP client over stdio."""

    async def work(settings: Settings) -> None:
        from app.mcp.stdio import serve_stdio  # the agent loads in seconds: only when serving

        async with open_engine(settings) as engine:
            found, user_id = await tenant_and_user(engine, tenant, user)
        await serve_stdio(settings, tenant=found, user_id=user_id)

    run(work)
