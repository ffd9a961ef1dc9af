"""The tool ``run_sql``: one read-only query through ``SqlExecutor`` (guard, the tenant's
reader role, limits). Its result becomes this turn's ``r1``, ``r2``... for charts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from app.tools.tool import Facts, Output, Shown, Tool, ToolContext

NAME = "run_sql"
SUMMARY_ROWS = 5  # rows of a result kept in the store
SUMMARY_KEYS = ("result_id", "columns", "row_count", "truncated", "elapsed_ms")


class RunSqlInput(BaseModel):
    sql: str = Field(description="One read-only PostgreSQL query.")


class RunSql(Tool[RunSqlInput]):
    name = NAME
    description = (
        "Run one read-only PostgreSQL query (SELECT, WITH ... SELECT, UNION, VALUES) over the "
        "shop's tables and get back JSON: columns, rows, row_count, truncated, elapsed_ms. "
        'Errors come back as {"error": {code, message, hint}}: fix the SQL and try again.'
    )
    input = RunSqlInput
    sql_input = runs_sql = replays = offline = standalone = True

    async def run(self, context: ToolContext, arguments: RunSqlInput) -> tuple[Output, list[Shown]]:
        result = await context.services.executor.run(
            tenant_id=context.tenant.id,
            sql=arguments.sql,
            context=context.audit_label,
            requester=context.requester,
        )
        result_id = context.turn.add_result(result)
        return {"result_id": result_id, **result.to_dict()}, [result]

    def summarise(self, output: Output) -> Output:
        kept = {key: output.get(key) for key in SUMMARY_KEYS}
        return kept | {"rows": output.get("rows", [])[:SUMMARY_ROWS]}

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        if "row_count" not in output:
            return None
        more = ", truncated" if output.get("truncated") else ""
        return f"{output['row_count']} row(s){more} in {output.get('elapsed_ms')} ms"

    def facts(self, output: Mapping[str, Any]) -> Facts:
        heading, lines = [], []
        if "row_count" in output:
            more = ", truncated" if output.get("truncated") else ""
            heading.append(f"{output['row_count']} rows{more}")
        if output.get("elapsed_ms") is not None:
            heading.append(f"SQL {output['elapsed_ms']} ms")
        if output.get("columns"):
            lines.append("columns: " + ", ".join(map(str, output["columns"])))
        return Facts(heading, lines)


TOOL = RunSql()
