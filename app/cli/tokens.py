"""``bichat tokens ...``: personal API tokens for the REST API and the MCP server. A token acts
as its user in the user's shop; it is printed once, when it is made (only its hash is kept)."""

from __future__ import annotations

import typer

from app.cli.output import AS_JSON, print_json, print_result, print_rows, stderr, stdout
from app.cli.runner import run
from app.cli.tenant_choice import TENANT, tenant_and_user, tenant_of
from app.config import Settings
from app.store.tokens import TokenRecord, create_token, list_tokens, revoke_token
from db.engine import open_engine

app = typer.Typer(help="Personal API tokens (REST API and MCP).", no_args_is_help=True)


@app.command("create")
def create_command(
    tenant: str | None = TENANT,
    user: str = typer.Option(..., "--user", help="The token acts as this user of the shop."),
    name: str = typer.Option("", "--name", help="What it is for (shown in lists)."),
    expires_days: int | None = typer.Option(
        None, "--expires-days", help="Stops working after this many days (default: never)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Create a token and print it once (store it now: it cannot be shown again)."""

    async def work(settings: Settings) -> tuple[TokenRecord, str]:
        async with open_engine(settings) as engine:
            found, user_id = await tenant_and_user(engine, tenant, user)
            return await create_token(
                engine,
                tenant_id=found.id,
                user_id=user_id,
                name=name,
                expires_days=expires_days,
            )

    record, token = run(work, as_json=as_json)
    if as_json:
        print_json({**record.to_dict(), "token": token})
        return
    stdout.print(token, markup=False, highlight=False)
    expires = f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else ""
    stderr.print(
        f"token {record.id} for {record.username}{expires}: shown once, store it now "
        "(Authorization: Bearer <token>)"
    )


@app.command("list")
def list_command(
    tenant: str | None = TENANT,
    user: str | None = typer.Option(None, "--user", help="Only this user's tokens."),
    as_json: bool = AS_JSON,
) -> None:
    """The shop's tokens (never the tokens themselves): id, name, prefix, user, status, dates."""

    async def work(settings: Settings) -> list[TokenRecord]:
        async with open_engine(settings) as engine:
            found, user_id = await tenant_and_user(engine, tenant, user or None)
            return await list_tokens(engine, tenant_id=found.id, user_id=user_id)

    rows = [record.to_dict() for record in run(work, as_json=as_json)]
    print_rows(rows, title="API tokens", as_json=as_json)


@app.command("revoke")
def revoke_command(
    token_id: int = typer.Argument(..., metavar="ID", help="The token's id (tokens list)."),
    tenant: str | None = TENANT,
    as_json: bool = AS_JSON,
) -> None:
    """Revoke a token: its next request is refused."""

    async def work(settings: Settings) -> TokenRecord:
        async with open_engine(settings) as engine:
            found = await tenant_of(engine, tenant)
            return await revoke_token(engine, tenant_id=found.id, token_id=token_id)

    record = run(work, as_json=as_json)
    print_result(
        record.to_dict(),
        f"revoked token {record.id} ({record.name or record.prefix}) of {record.username}",
        as_json=as_json,
    )
