"""The LangChain tool ``run_sql``: the agent's handle on ``SqlExecutor`` for one tenant."""

from __future__ import annotations

import json
import uuid

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from app.errors import BichatError
from app.tools.sql import SqlExecutor, result_for_model

DESCRIPTION = (
    "Run one read-only PostgreSQL query (SELECT, WITH ... SELECT, UNION, VALUES) over the "
    "shop's tables and get back JSON: columns, rows, row_count, truncated, elapsed_ms. "
    'Errors come back as {"error": {code, message, hint}}: fix the SQL and try again.'
)


class RunSqlInput(BaseModel):
    sql: str = Field(description="One read-only PostgreSQL query.")


def build_run_sql_tool(
    executor: SqlExecutor, *, tenant_id: uuid.UUID, context: str = "agent"
) -> BaseTool:
    async def run_sql(sql: str) -> str:
        try:
            result = await executor.run(tenant_id=tenant_id, sql=sql, context=context)
        except BichatError as error:
            return json.dumps(error.to_dict(), ensure_ascii=False)
        return result_for_model(result)

    return StructuredTool.from_function(
        coroutine=run_sql, name="run_sql", description=DESCRIPTION, args_schema=RunSqlInput
    )
