"""The agent's tools, built once per agent: each call finds its tenant, session and turn in the
runtime context (``TurnContext``), so ``run_sql`` results of a turn are what ``make_chart``
may draw."""

from __future__ import annotations

import json
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool

from app.agent.charts import Chart, ChartSpec, build_figure
from app.agent.turn import TurnContext, TurnState
from app.errors import BichatError
from app.semantic.service import SemanticLayer
from app.tools import query_metrics
from app.tools.run_sql import DESCRIPTION as RUN_SQL_DESCRIPTION
from app.tools.run_sql import RunSqlInput
from app.tools.search import ProductSearch
from app.tools.search_products import DESCRIPTION as SEARCH_DESCRIPTION
from app.tools.search_products import SearchProductsInput
from app.tools.sql import SqlExecutor

MAKE_CHART_DESCRIPTION = (
    "Show the owner a chart of a run_sql or query_metrics result of this turn; columns must "
    "come from that result."
)
SQL_RESULT_TOOLS = frozenset({"run_sql", query_metrics.NAME})  # results shown as tables


def error_json(error: BichatError) -> str:
    return json.dumps(error.to_dict(), ensure_ascii=False)


def build_agent_tools(
    *, executor: SqlExecutor, search: ProductSearch, semantic: SemanticLayer | None = None
) -> list[BaseTool]:
    tools = [run_sql_tool(executor), search_products_tool(search), make_chart_tool()]
    if semantic is not None:
        tools.insert(0, query_metrics_tool(executor, semantic))
    return tools


def query_metrics_tool(executor: SqlExecutor, semantic: SemanticLayer) -> BaseTool:
    async def run(runtime: ToolRuntime[TurnContext], **arguments: Any) -> str:
        turn = runtime.context
        try:
            result = await query_metrics.run_query_metrics(
                semantic, executor, turn.tenant, arguments, context=f"chat:{turn.session_id}"
            )
        except BichatError as error:
            return error_json(error)
        result_id = turn.state.add_result(result.run)
        return json.dumps(
            {"result_id": result_id, **result.to_dict()}, ensure_ascii=False, default=str
        )

    return StructuredTool.from_function(
        coroutine=run,
        name=query_metrics.NAME,
        description=query_metrics.description(semantic.model),
        args_schema=query_metrics.build_input_model(semantic.model),
    )


def run_sql_tool(executor: SqlExecutor) -> BaseTool:
    async def run_sql(sql: str, runtime: ToolRuntime[TurnContext]) -> str:
        turn = runtime.context
        try:
            result = await executor.run(
                tenant_id=turn.tenant.id, sql=sql, context=f"chat:{turn.session_id}"
            )
        except BichatError as error:
            return error_json(error)
        result_id = turn.state.add_result(result)
        return json.dumps(
            {"result_id": result_id, **result.to_dict()}, ensure_ascii=False, default=str
        )

    return StructuredTool.from_function(
        coroutine=run_sql, name="run_sql", description=RUN_SQL_DESCRIPTION, args_schema=RunSqlInput
    )


def search_products_tool(search: ProductSearch) -> BaseTool:
    async def search_products(runtime: ToolRuntime[TurnContext], **arguments: Any) -> str:
        turn = runtime.context
        try:
            found = await search.search(
                tenant_id=turn.tenant.id,
                tenant_slug=turn.tenant.slug,
                chat_session_id=turn.session_id,
                **SearchProductsInput.model_validate(arguments).model_dump(),
            )
        except BichatError as error:
            return error_json(error)
        return json.dumps(found.to_dict(), ensure_ascii=False)

    return StructuredTool.from_function(
        coroutine=search_products,
        name="search_products",
        description=SEARCH_DESCRIPTION,
        args_schema=SearchProductsInput,
    )


def draw(state: TurnState, arguments: dict[str, Any]) -> str:
    try:
        spec = ChartSpec.model_validate(arguments)
        result = state.result_for(spec.result_id)
        figure = build_figure(spec, result.columns, result.rows)
    except BichatError as error:
        return error_json(error)
    chart = Chart(id=f"c{len(state.charts) + 1}", spec=spec, figure=figure)
    state.charts.append(chart)
    return json.dumps(
        {"chart_id": chart.id, "kind": spec.kind, "points": len(result.rows), "shown": True}
    )


def make_chart_tool() -> BaseTool:
    def make_chart(runtime: ToolRuntime[TurnContext], **arguments: Any) -> str:
        return draw(runtime.context.state, arguments)

    return StructuredTool.from_function(
        func=make_chart,
        name="make_chart",
        description=MAKE_CHART_DESCRIPTION,
        args_schema=ChartSpec,
    )
