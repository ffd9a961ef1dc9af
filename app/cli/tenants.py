"""``bichat tenants ...``: the shops this installation serves."""

from __future__ import annotations

import typer

from app.cli.output import AS_JSON, print_result, print_rows
from app.cli.runner import run
from app.config import Settings
from db.engine import open_engine
from db.tenants import TenantRecord, create_tenant, delete_tenant, list_tenants

app = typer.Typer(help="Tenants (shops).", no_args_is_help=True)


@app.command("create")
def create_command(
    slug: str = typer.Argument(..., help="Short id: lowercase letters, digits, hyphens."),
    name: str = typer.Option(..., "--name", help="The shop's display name."),
    currency: str = typer.Option("USD", "--currency", help="ISO 4217 currency code."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA timezone, e.g. Europe/Berlin."),
    week_start: str = typer.Option(
        "monday", "--week-start", help="First day of the shop's weeks (monday ... sunday)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Create a tenant and its read-only database role."""

    async def work(settings: Settings) -> TenantRecord:
        async with open_engine(settings) as engine, engine.begin() as connection:
            return await create_tenant(
                connection,
                slug=slug,
                name=name,
                currency=currency,
                timezone=timezone,
                week_start=week_start,
                settings=settings,
            )

    tenant = run(work, as_json=as_json)
    print_result(
        tenant.to_dict(),
        f"created tenant {tenant.slug} ({tenant.name}, {tenant.currency}, {tenant.timezone})",
        as_json=as_json,
    )


@app.command("list")
def list_command(as_json: bool = AS_JSON) -> None:
    """List tenants."""

    async def work(settings: Settings) -> list[TenantRecord]:
        async with open_engine(settings) as engine, engine.connect() as connection:
            return await list_tenants(connection)

    print_rows([t.to_dict() for t in run(work, as_json=as_json)], title="tenants", as_json=as_json)


@app.command("delete")
def delete_command(
    slug: str = typer.Argument(..., help="The tenant to delete."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: every row of the tenant is deleted."),
    as_json: bool = AS_JSON,
) -> None:
    """Delete a tenant with every row it owns in every table, and its database role."""
    if not yes:
        from app.cli.runner import fail
        from app.errors import InvalidInput

        fail(
            InvalidInput(
                f"deleting {slug!r} removes all its data: add --yes to confirm",
                code="confirmation_required",
            ),
            as_json=as_json,
        )

    async def work(settings: Settings) -> dict[str, int]:
        async with open_engine(settings) as engine, engine.begin() as connection:
            return await delete_tenant(connection, slug=slug)

    counts = run(work, as_json=as_json)
    print_result(
        {"deleted": slug, "rows": counts},
        f"deleted tenant {slug} ({sum(counts.values())} rows)",
        as_json=as_json,
    )
