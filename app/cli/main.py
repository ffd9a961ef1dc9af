"""Entry point of the ``bichat`` command."""

from __future__ import annotations

import typer

from app.cli import (
    admin,
    ask,
    db,
    digest,
    insights,
    mcp,
    metrics,
    search,
    serve,
    sql,
    tenants,
    tokens,
    users,
)

app = typer.Typer(
    name="bichat",
    help="bichat: ask your shop's data questions in plain words.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(tenants.app, name="tenants")
app.add_typer(users.app, name="users")
app.add_typer(admin.app, name="admin")
app.add_typer(tokens.app, name="tokens")
app.add_typer(digest.app, name="digest")
app.command("serve")(serve.serve_command)
app.command("ask")(ask.ask_command)
app.command("sql")(sql.sql_command)
app.command("search")(search.search_command)
app.command("metrics")(metrics.metrics_command)
app.command("query")(metrics.query_command)
app.command("mcp")(mcp.mcp_command)
app.command("explain")(insights.explain_command)
app.command("anomalies")(insights.anomalies_command)
app.command("forecast")(insights.forecast_command)


def main() -> None:
    app()


if __name__ == "__main__":  # python -m app.cli.main (a checkout without the entry point)
    main()
