"""``bichat explain``, ``bichat anomalies`` and ``bichat forecast``: the insights
(``app.insights``) from the command line, their queries run through the SQL tool."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from app.cli.output import print_json, print_table, stdout
from app.cli.runner import run
from app.cli.tenant_choice import TENANT, chosen_tenant
from app.config import Settings
from app.insights.anomalies import DEFAULT_DAYS, find_anomalies
from app.insights.explain import explain
from app.insights.forecast import forecast
from app.insights.source import MetricSource
from app.semantic.service import SemanticLayer
from app.tools.sql import SqlExecutor
from db.engine import open_engine, owner_url

T = TypeVar("T")
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


async def with_source(
    settings: Settings, tenant: str | None, work: Callable[[MetricSource], Awaitable[T]]
) -> T:
    async with open_engine(settings) as engine:
        async with engine.connect() as connection:
            found = await chosen_tenant(connection, tenant)
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=owner_url(settings))
        try:
            layer = SemanticLayer(engine=engine)
            return await work(MetricSource(layer, executor, found, context="cli"))
        finally:
            await executor.close()


def explain_command(
    tenant: str | None = TENANT,
    metric: str = typer.Option(..., "--metric", help="The metric (revenue, orders, AOV...)."),
    period: str = typer.Option(..., "--period", help="last-week, last-month, 2025-11..."),
    compare: str = typer.Option("previous", "--compare", help="previous or year."),
    top: int = typer.Option(10, "--top", help="How many drivers to list."),
    as_json: bool = AS_JSON,
) -> None:
    """Why a metric changed: the change and its ranked drivers by dimension and value."""
    data: dict[str, Any] = run(
        lambda settings: with_source(
            settings,
            tenant,
            lambda source: _explained(source, metric, period, compare, top),
        ),
        as_json=as_json,
    )
    if as_json:
        print_json(data)
        return
    stdout.print(data["text"])
    print_table(
        [
            {
                "dimension": d["dimension"],
                "value": d["value"],
                "contribution": round(d["contribution"], 2),
                "share of change": pct(d["share_of_change"]),
                "effect": d["effect"],
            }
            for d in data["drivers"]
        ],
        title="drivers",
    )


async def _explained(
    source: MetricSource, metric: str, period: str, compare: str, top: int
) -> dict[str, Any]:
    return (await explain(source, metric, period, compare, top=top)).to_dict()


def pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


def anomalies_command(
    tenant: str | None = TENANT,
    days: int = typer.Option(DEFAULT_DAYS, "--days", help="How many recent whole days to check."),
    as_json: bool = AS_JSON,
) -> None:
    """Days whose revenue or orders (overall, per channel, country, segment, department) were
    far from what was expected."""

    async def work(source: MetricSource) -> list[dict[str, Any]]:
        return [a.to_dict() for a in await find_anomalies(source, days=days)]

    found = run(lambda settings: with_source(settings, tenant, work), as_json=as_json)
    if as_json:
        print_json({"days": days, "anomalies": found})
        return
    if not found:
        stdout.print(f"No anomalies in the last {days} whole days.")
        return
    print_table(
        [
            {
                "day": a["day"],
                "metric": a["metric"],
                "where": f"{a['dimension']} {a['value']}" if a["dimension"] else "all",
                "actual": a["actual"],
                "expected": a["expected"],
                "change": f"{a['deviation_pct']:+.0f}%" if a["deviation_pct"] is not None else "",
                "z": a["z"],
            }
            for a in found
        ],
        title="anomalies",
    )


def forecast_command(
    tenant: str | None = TENANT,
    metric: str = typer.Option(..., "--metric", help="A metric that adds up (revenue, orders)."),
    horizon: int = typer.Option(..., "--horizon", help="How many days, weeks or months ahead."),
    grain: str = typer.Option("week", "--grain", help="day, week or month."),
    as_json: bool = AS_JSON,
) -> None:
    """Forecast a metric with 80% prediction intervals (weekly and yearly seasonality)."""

    async def work(source: MetricSource) -> dict[str, Any]:
        return (await forecast(source, metric, horizon, grain)).to_dict()

    data = run(lambda settings: with_source(settings, tenant, work), as_json=as_json)
    if as_json:
        print_json(data)
        return
    stdout.print(data["text"])
    print_table(
        [
            {"from": p["start"], "forecast": p["value"], "low": p["lower"], "high": p["upper"]}
            for p in data["points"]
        ],
        title="forecast",
    )
