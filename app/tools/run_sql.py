"""The tool ``run_sql``: one read-only query through ``SqlExecutor`` (guard, the tenant's
reader role, limits). Its result becomes this turn's ``r1``, ``r2``... for charts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from app.tools.tool import Facts, Output, Shown, Tool, ToolContext

NAME = "run_sql"
SUMMARY_ROWS = 5  # rows of a result kept in the store
DESCRIPTION = (
    "Run one read-only PostgreSQL query (SELECT, WITH ... SELECT, UNION, VALUES) over the "
    "shop's tables and get back JSON: columns, rows, row_count, truncated, elapsed_ms. "
    'Errors come back as {"error": {code, message, hint}}: fix the SQL and try again.'
)


class RunSqlInput(BaseModel):
    sql: str = Field(description="One read-only PostgreSQL query.")


async def run(context: ToolContext, arguments: RunSqlInput) -> tuple[Output, list[Shown]]:
    result = await context.services.executor.run(
        tenant_id=context.tenant.id, sql=arguments.sql, context=context.audit_label
    )
    result_id = context.turn.add_result(result)
    return {"result_id": result_id, **result.to_dict()}, [result]


def summarise(output: Output) -> Output:
    keys = ("result_id", "columns", "row_count", "truncated", "elapsed_ms")
    return {**{k: output.get(k) for k in keys}, "rows": output.get("rows", [])[:SUMMARY_ROWS]}


def outcome(output: Mapping[str, Any]) -> str | None:
    if "row_count" not in output:
        return None
    more = ", truncated" if output.get("truncated") else ""
    return f"{output['row_count']} row(s){more} in {output.get('elapsed_ms')} ms"


def facts(output: Mapping[str, Any]) -> Facts:
    heading, lines = [], []
    if "row_count" in output:
        more = ", truncated" if output.get("truncated") else ""
        heading.append(f"{output['row_count']} rows{more}")
    if output.get("elapsed_ms") is not None:
        heading.append(f"SQL {output['elapsed_ms']} ms")
    if output.get("columns"):
        lines.append("columns: " + ", ".join(map(str, output["columns"])))
    return Facts(heading, lines)


TOOL = Tool(
    name=NAME,
    description=DESCRIPTION,
    input=RunSqlInput,
    run=run,
    summarise=summarise,
    outcome=outcome,
    facts=facts,
    sql_input=True,
    replays=True,
    offline=True,
)
