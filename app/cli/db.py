"""``bichat db ...``: initialise and inspect the database."""

from __future__ import annotations

import typer

from app.cli.output import print_json, stderr, stdout
from app.cli.runner import run
from db.bootstrap import DatabaseStatus, init_and_status, status

app = typer.Typer(help="Database: schema, status and data.", no_args_is_help=True)


def describe(result: DatabaseStatus) -> str:
    kind = "embedded" if result.embedded else "external"
    state = "up to date" if result.up_to_date else f"head is {result.head}"
    return (
        f"PostgreSQL {result.postgres} ({kind}), pgvector {result.pgvector or 'not installed'}, "
        f"schema {result.revision or 'empty'} ({state}), {result.tenants} tenant(s) - {result.url}"
    )


@app.command("init")
def init_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create or upgrade the schema (idempotent); starts the embedded server if needed."""
    with stderr.status("Preparing the database (first run starts PostgreSQL)..."):
        result = run(init_and_status, as_json=as_json)
    if as_json:
        print_json(result.to_dict())
    else:
        stdout.print(f"ready: {describe(result)}")


@app.command("status")
def status_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the server, pgvector and schema revision."""
    result = run(status, as_json=as_json)
    if as_json:
        print_json(result.to_dict())
    else:
        stdout.print(describe(result))
