"""The tools of one turn, sharing what the turn produced: ``run_sql`` results (which
``make_chart`` may draw) and the charts themselves."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool, StructuredTool

from app.agent.charts import Chart, ChartSpec, build_figure
from app.errors import BichatError, InvalidInput
from app.tools.run_sql import DESCRIPTION as RUN_SQL_DESCRIPTION
from app.tools.run_sql import RunSqlInput
from app.tools.search import ProductSearch
from app.tools.search_products import build_search_products_tool
from app.tools.sql import SqlExecutor, SqlResult
from db.tenants import TenantRecord

MAKE_CHART_DESCRIPTION = (
    "Draw a chart of a run_sql result from this turn for the owner: kind (bar, line, area, "
    "pie, scatter), x column, one or more numeric y columns, optional series column, title. "
    "Columns must be names from that result. Returns the chart id; the chart is shown to the "
    "owner, so do not describe it at length."
)


@dataclass
class TurnState:
    results: dict[str, SqlResult] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)

    def add_result(self, result: SqlResult) -> str:
        result_id = f"r{len(self.results) + 1}"
        self.results[result_id] = result
        return result_id

    def result_for(self, result_id: str | None) -> SqlResult:
        if not self.results:
            raise InvalidInput(
                "no run_sql result in this turn yet: run the query first", code="invalid_chart"
            )
        key = result_id or list(self.results)[-1]
        if key not in self.results:
            raise InvalidInput(
                f"no result {key!r} in this turn; results are {', '.join(self.results)}",
                code="invalid_chart",
            )
        return self.results[key]


def build_turn_tools(
    *,
    executor: SqlExecutor,
    search: ProductSearch,
    tenant: TenantRecord,
    session_id: uuid.UUID,
    state: TurnState,
) -> list[BaseTool]:
    return [
        run_sql_tool(executor, tenant_id=tenant.id, session_id=session_id, state=state),
        build_search_products_tool(
            search, tenant_id=tenant.id, tenant_slug=tenant.slug, chat_session_id=session_id
        ),
        make_chart_tool(state),
    ]


def run_sql_tool(
    executor: SqlExecutor, *, tenant_id: uuid.UUID, session_id: uuid.UUID, state: TurnState
) -> BaseTool:
    async def run_sql(sql: str) -> str:
        try:
            result = await executor.run(tenant_id=tenant_id, sql=sql, context=f"chat:{session_id}")
        except BichatError as error:
            return json.dumps(error.to_dict(), ensure_ascii=False)
        result_id = state.add_result(result)
        return json.dumps(
            {"result_id": result_id, **result.to_dict()}, ensure_ascii=False, default=str
        )

    return StructuredTool.from_function(
        coroutine=run_sql, name="run_sql", description=RUN_SQL_DESCRIPTION, args_schema=RunSqlInput
    )


def make_chart_tool(state: TurnState) -> BaseTool:
    def make_chart(**spec_fields: object) -> str:
        try:
            spec = ChartSpec.model_validate(spec_fields)
            result = state.result_for(spec.result_id)
            figure = build_figure(spec, result.columns, result.rows)
        except BichatError as error:
            return json.dumps(error.to_dict(), ensure_ascii=False)
        chart = Chart(id=f"c{len(state.charts) + 1}", spec=spec, figure=figure)
        state.charts.append(chart)
        return json.dumps(
            {"chart_id": chart.id, "kind": spec.kind, "points": len(result.rows), "shown": True}
        )

    return StructuredTool.from_function(
        func=make_chart,
        name="make_chart",
        description=MAKE_CHART_DESCRIPTION,
        args_schema=ChartSpec,
    )
