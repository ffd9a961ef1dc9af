"""``bichat users ...``: people who log in to the chat and admin pages."""

from __future__ import annotations

import getpass
import sys

import typer

from app.cli.output import AS_JSON, print_result, print_rows
from app.cli.runner import fail, run
from app.cli.tenant_choice import TENANT, chosen_tenant
from app.config import Settings
from app.errors import InvalidInput
from db.engine import open_engine
from db.users import UserRecord, create_user, list_users

app = typer.Typer(help="Users of the chat and admin pages.", no_args_is_help=True)


def read_password_from_stdin() -> str:
    """The password on standard input, without its trailing newline (prompted on a terminal)."""
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.read().removesuffix("\n").removesuffix("\r")


@app.command("create")
def create_command(
    username: str = typer.Argument(..., help="Login name."),
    tenant: str | None = TENANT,
    admin: bool = typer.Option(False, "--admin", help="Admin role (default: analyst)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Create a user with an argon2-hashed password."""
    if not password_stdin:
        fail(
            InvalidInput(
                "pass the password on standard input with --password-stdin",
                code="password_required",
            ),
            as_json=as_json,
        )
    password = read_password_from_stdin()

    async def work(settings: Settings) -> UserRecord:
        async with open_engine(settings) as engine, engine.begin() as connection:
            return await create_user(
                connection,
                username=username,
                tenant_slug=(await chosen_tenant(connection, tenant)).slug,
                password=password,
                admin=admin,
            )

    user = run(work, as_json=as_json)
    print_result(
        user.to_dict(),
        f"created {user.role} {user.username} in tenant {user.tenant}",
        as_json=as_json,
    )


@app.command("list")
def list_command(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's users."),
    as_json: bool = AS_JSON,
) -> None:
    """List users."""

    async def work(settings: Settings) -> list[UserRecord]:
        async with open_engine(settings) as engine, engine.connect() as connection:
            return await list_users(connection, tenant_slug=tenant)

    print_rows([u.to_dict() for u in run(work, as_json=as_json)], title="users", as_json=as_json)
