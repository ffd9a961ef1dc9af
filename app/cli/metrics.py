"""``bichat metrics`` and ``bichat query``: the semantic layer from the command line."""

from __future__ import annotations

import re
from typing import Any

import typer

from app.cli.dates import parse_day
from app.cli.output import AS_JSON, print_grid, print_json, print_table, stderr, stdout
from app.cli.runner import fail, run
from app.cli.tenant_choice import TENANT, tenant_of
from app.config import Settings
from app.errors import InvalidInput
from app.semantic.catalogue import catalogue
from app.semantic.model import GRAINS, default_model
from app.semantic.query import Filter
from app.semantic.service import MetricsResult, SemanticLayer
from app.tools.query_metrics import run_query_metrics
from app.tools.sql import SqlExecutor
from db.engine import open_engine, owner_url

WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")
WHERE_OPS = {"=": "in", "!=": "not_in", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}


def metrics_command(
    tenant: str | None = TENANT,
    as_json: bool = AS_JSON,
) -> None:
    """List the metrics and dimensions the semantic layer answers, with the shop's values."""

    async def work(settings: Settings) -> dict[str, Any]:
        async with open_engine(settings) as engine:
            found = await tenant_of(engine, tenant)
            layer = SemanticLayer(engine=engine)
            return {"tenant": found.slug, **catalogue(layer.model, await layer.index(found))}

    data = run(work, as_json=as_json)
    if as_json:
        print_json(data)
        return
    print_table(
        [
            {"metric": m["name"], "format": m["format"], "meaning": m["description"]}
            for m in data["metrics"]
        ],
        title="metrics",
    )
    print_table(
        [
            {
                "dimension": d["name"],
                "kind": d["kind"],
                "values": ", ".join(d.get("values", [])) or d.get("column", ""),
            }
            for d in data["dimensions"]
        ],
        title="dimensions",
    )
    stdout.print(f"grains: {', '.join(data['grains'])}")
    stdout.print(
        f"periods: {', '.join(data['periods'])}, last-N-days|weeks|months (rolling, ending now), "
        "previous-N-days|weeks|months (complete ones), 2025, 2025-11, q3-2025, ..."
    )


def parse_where(items: list[str]) -> list[Filter]:
    """``D=V`` (repeat for more values), ``D!=V``, ``D>=DATE`` ... as filters."""
    merged: dict[tuple[str, str], list[str]] = {}
    for item in items:
        match = WHERE.match(item)
        if match is None or not match.group(3):
            raise InvalidInput(
                f"invalid --where {item!r}: use DIMENSION=VALUE (also !=, >=, >, <=, <)",
                code="invalid_filter",
            )
        dimension, op, value = match.groups()
        merged.setdefault((dimension, WHERE_OPS[op]), []).append(value)
    return [
        Filter.model_validate({"dimension": d, "op": op, "values": v})
        for (d, op), v in merged.items()
    ]


def query_command(
    tenant: str | None = TENANT,
    metric: list[str] = typer.Option(..., "--metric", help="A metric (repeat for more)."),
    by: list[str] = typer.Option([], "--by", help="Group by a dimension (repeat for more)."),
    where: list[str] = typer.Option([], "--where", help="Filter: DIMENSION=VALUE, !=, >=, <..."),
    period: str | None = typer.Option(
        None,
        "--period",
        help="today, last-month, ytd, 2025, last-30-days (rolling), previous-7-days (whole days)...",
    ),
    from_date: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD)."),
    to_date: str | None = typer.Option(None, "--to", help="Last day, inclusive (YYYY-MM-DD)."),
    grain: str | None = typer.Option(None, "--grain", help=f"Time grain: {', '.join(GRAINS)}."),
    compare: str | None = typer.Option(None, "--compare", help="previous or year."),
    top: int | None = typer.Option(None, "--top", help="Only the N largest rows."),
    bottom: int | None = typer.Option(None, "--bottom", help="Only the N smallest rows."),
    share: bool = typer.Option(False, "--share", help="Add each row's % of the total."),
    decimals: int | None = typer.Option(None, "--decimals", help="Round values to N decimals."),
    as_json: bool = typer.Option(False, "--json", help="Print the tool's result as JSON."),
) -> None:
    """Run a semantic query: metrics by dimensions over a period, compiled to guarded SQL."""
    try:
        arguments = {
            "metrics": metric,
            "by": by,
            "filters": [f.model_dump() for f in parse_where(where)],
            "period": period,
            "from_date": parse_day(from_date, "--from"),
            "to_date": parse_day(to_date, "--to"),
            **{"grain": grain, "compare": compare, "top": top, "bottom": bottom},
            **({"share": True} if share else {}),
            **({"decimals": decimals} if decimals is not None else {}),
        }
    except InvalidInput as error:
        fail(error, as_json=as_json)
        return
    show_result(
        run(lambda settings: run_query(settings, tenant, arguments), as_json=as_json), as_json
    )


async def run_query(
    settings: Settings, tenant: str | None, arguments: dict[str, Any]
) -> MetricsResult:
    async with open_engine(settings) as engine:
        found = await tenant_of(engine, tenant)
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=owner_url(settings))
        try:
            layer = SemanticLayer(engine=engine, model=default_model())
            return await run_query_metrics(layer, executor, found, arguments, context="cli")
        finally:
            await executor.close()


def show_result(result: MetricsResult, as_json: bool) -> None:
    data = result.to_dict()
    if as_json:
        print_json(data)
        return
    stdout.print(data["interpretation"])
    print_grid(data["columns"], data["rows"], title="rows")
    more = " (truncated: more rows exist)" if data["truncated"] else ""
    stdout.print(f"{data['row_count']} row(s){more} in {data['elapsed_ms']} ms")
    if data["partial"]:
        stdout.print("partial: the period is not over yet; it is compared like for like")
    stderr.print(data["sql"], style="dim")
