"""``bichat db ...``: initialise and inspect the database."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli.dates import parse_day
from app.cli.output import AS_JSON, print_result, stderr
from app.cli.progress import step_progress
from app.cli.runner import checked, run
from app.cli.tenant_choice import TENANT, chosen_slug, chosen_tenant
from app.config import Settings
from app.embeddings import build_embeddings
from app.semantic.model import default_model
from app.semantic.values import refresh_values
from db.bootstrap import DatabaseStatus, init_and_status, initialise, status
from db.csv_export import export_tenant
from db.csv_import import ImportReport, import_folder
from db.embed import EmbedReport, embed_tenant
from db.engine import open_engine
from db.rules import DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_SUPPORT, compute_rules
from db.seed import DEFAULT_ORDERS, SeedReport, seed_tenant
from db.tenants import get_tenant

app = typer.Typer(help="Database: schema, status and data.", no_args_is_help=True)
EMBED_HINT = "product search is out of date: run `bichat db embed --tenant {tenant}`"


def describe(result: DatabaseStatus) -> str:
    kind = "embedded" if result.embedded else "external"
    state = "up to date" if result.up_to_date else f"head is {result.head}"
    return (
        f"PostgreSQL {result.postgres} ({kind}), pgvector {result.pgvector or 'not installed'}, "
        f"schema {result.revision or 'empty'} ({state}), {result.tenants} tenant(s) - {result.url}"
    )


@app.command("init")
def init_command(as_json: bool = AS_JSON) -> None:
    """Create or upgrade the schema (idempotent); starts the embedded server if needed."""
    with stderr.status("Preparing the database (first run starts PostgreSQL)..."):
        result = run(init_and_status, as_json=as_json)
    print_result(result.to_dict(), f"ready: {describe(result)}", as_json=as_json)


@app.command("status")
def status_command(as_json: bool = AS_JSON) -> None:
    """Show the server, pgvector and schema revision."""
    result = run(status, as_json=as_json)
    print_result(result.to_dict(), describe(result), as_json=as_json)


@app.command("seed")
def seed_command(
    tenant: str | None = typer.Option(
        None, "--tenant", help="Tenant slug (created if missing; default: the only tenant)."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same shop."),
    orders: int = typer.Option(DEFAULT_ORDERS, "--orders", min=1, help="Number of orders."),
    end_date: str | None = typer.Option(
        None, "--end-date", help="Last day of the three-year history (YYYY-MM-DD; default today)."
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace the tenant's existing data."),
    as_json: bool = AS_JSON,
) -> None:
    """Generate a realistic demo shop for a tenant (one transaction, COPY)."""
    end = checked(lambda: parse_day(end_date, "--end-date"), as_json=as_json)

    async def work(settings: Settings) -> SeedReport:
        async with open_engine(settings) as engine:
            await initialise(engine, settings)
            async with engine.connect() as connection:
                slug = await chosen_slug(connection, tenant)
            with step_progress() as bars:
                report = await seed_tenant(
                    engine,
                    settings,
                    slug=slug,
                    seed=seed,
                    orders=orders,
                    end=end,
                    replace=replace,
                    generation_progress=bars.generated,
                    load_progress=bars.loaded,
                )
            await refresh_tenant_values(engine, slug)
            return report

    report = run(work, as_json=as_json)
    rows = ", ".join(f"{n} {t}" for t, n in report.rows.items())
    print_result(
        report.__dict__,
        f"seeded {report.tenant} ({report.shop_name}): {rows}; {report.bundle_rules} bundle rules",
        EMBED_HINT.format(tenant=report.tenant),
        as_json=as_json,
    )


@app.command("rules")
def rules_command(
    tenant: str | None = TENANT,
    min_support: float = typer.Option(
        DEFAULT_MIN_SUPPORT,
        "--min-support",
        help="Minimum share of orders containing both products.",
    ),
    min_confidence: float = typer.Option(
        DEFAULT_MIN_CONFIDENCE,
        "--min-confidence",
        help="Minimum share of X's orders that also contain Y.",
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Recompute the tenant's "bought together" rules, replacing the previous ones."""

    async def work(settings: Settings) -> tuple[str, int]:
        async with open_engine(settings) as engine, engine.begin() as connection:
            found = await chosen_tenant(connection, tenant)
            count = await compute_rules(
                connection,
                tenant_id=found.id,
                min_support=min_support,
                min_confidence=min_confidence,
            )
            return found.slug, count

    with stderr.status("Computing bundle rules..."):
        slug, count = run(work, as_json=as_json)
    print_result(
        {"tenant": slug, "bundle_rules": count}, f"{count} bundle rules for {slug}", as_json=as_json
    )


@app.command("load-csv")
def load_csv_command(
    folder: Path = typer.Argument(..., help="Folder with categories.csv, products.csv, ..."),
    tenant: str | None = TENANT,
    as_json: bool = AS_JSON,
) -> None:
    """Import the shop's own data from CSV files: all or nothing, upsert by natural key."""

    async def work(settings: Settings) -> ImportReport:
        async with open_engine(settings) as engine:
            async with engine.begin() as connection:
                found = await chosen_tenant(connection, tenant)
                with stderr.status(f"Validating and importing {folder}...") as status:
                    report = await import_folder(
                        connection,
                        found,
                        folder,
                        advance=lambda step: status.update(f"Importing: {step}"),
                    )
            await refresh_tenant_values(engine, found.slug)
            return report

    report = run(work, as_json=as_json)
    read = ", ".join(f"{n} rows of {f}" for f, n in report.files.items())
    written = ", ".join(f"{n} {t}" for t, n in report.written.items() if n)
    print_result(
        report.__dict__,
        f"imported into {report.tenant}: read {read}; "
        f"inserted or changed {written or 'nothing (already up to date)'}",
        *([EMBED_HINT.format(tenant=report.tenant)] if written else []),
        as_json=as_json,
    )


@app.command("export-csv")
def export_csv_command(
    folder: Path = typer.Argument(..., help="Folder to write (created if missing)."),
    tenant: str | None = TENANT,
    force: bool = typer.Option(False, "--force", help="Overwrite existing CSV files."),
    as_json: bool = AS_JSON,
) -> None:
    """Export the tenant's shop data as CSV files in the load-csv format."""

    async def work(settings: Settings) -> tuple[str, dict[str, int]]:
        async with open_engine(settings) as engine, engine.connect() as plain:
            # One snapshot for all six files, so they agree with each other.
            connection = await plain.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            found = await chosen_tenant(connection, tenant)
            return found.slug, await export_tenant(connection, found.id, folder, force=force)

    slug, counts = run(work, as_json=as_json)
    print_result(
        {"tenant": slug, "folder": str(folder), "files": counts},
        f"exported {slug} to {folder}: " + ", ".join(f"{n} rows in {f}" for f, n in counts.items()),
        as_json=as_json,
    )


@app.command("embed")
def embed_command(
    tenant: str | None = TENANT,
    as_json: bool = AS_JSON,
) -> None:
    """Embed the tenant's active products for search (skips products that did not change)."""

    async def work(settings: Settings) -> EmbedReport:
        embeddings = build_embeddings(settings)
        async with open_engine(settings) as engine:
            async with engine.begin() as connection:
                found = await chosen_tenant(connection, tenant)
                with step_progress() as bars:
                    task = bars.task("embed products", None)

                    def advance(done: int, total: int) -> None:
                        bars.progress.update(task, completed=done, total=total)

                    report = await embed_tenant(
                        connection,
                        tenant_id=found.id,
                        slug=found.slug,
                        embeddings=embeddings,
                        advance=advance,
                    )
            await refresh_tenant_values(engine, found.slug)
            return report

    report = run(work, as_json=as_json)
    print_result(
        report.__dict__,
        f"{report.tenant}: embedded {report.embedded}, unchanged {report.unchanged}, "
        f"removed {report.removed} ({report.model})",
        as_json=as_json,
    )


async def refresh_tenant_values(engine: AsyncEngine, slug: str) -> int:
    """Rebuild the shop's values index (the semantic layer's filters and value look-ups)
    after its data changed; the data itself is already committed."""
    with stderr.status("Indexing the shop's values for the semantic layer..."):
        async with engine.connect() as connection:
            found = await get_tenant(connection, slug)
        return await refresh_values(engine, default_model(), found.id)
