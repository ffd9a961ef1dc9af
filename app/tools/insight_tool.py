"""What the insight tools (``explain_change``, ``forecast_metric``) share: they read the
semantic layer's metrics as the tenant (``app.insights.source.MetricSource``), answer with a
sentence (``text``) and the SQL they ran (``sql``), and draw one chart of their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from app.errors import BichatError
from app.insights.source import MetricSource
from app.tools.charts import Chart, ChartSpec, build_figure
from app.tools.tool import Output, Shown, Tool, ToolContext

InputT = TypeVar("InputT", bound=BaseModel)


def turn_chart(turn_charts: list[Chart], spec: ChartSpec, columns: list[str], rows: Any) -> Chart:
    """A chart of this turn (numbered after the turn's others)."""
    figure = build_figure(spec, columns, rows)
    chart = Chart(id=f"c{len(turn_charts) + 1}", spec=spec, figure=figure)
    turn_charts.append(chart)
    return chart


class InsightTool(Tool[InputT]):
    """``insight`` computes the output from the tenant's metrics; the SQL listed with the turn is
    the ``sql_index``-th query it ran."""

    runs_sql = replays = offline = standalone = True
    sql_index = 0

    async def run(self, context: ToolContext, arguments: InputT) -> tuple[Output, list[Shown]]:
        services = context.services
        if services.semantic is None:
            raise BichatError("the semantic layer is not available here", code="unavailable")
        source = MetricSource(
            services.semantic, services.executor, context.tenant, context=context.audit_label
        )
        return await self.insight(source, arguments, context.turn.charts)

    async def insight(
        self, source: MetricSource, arguments: InputT, turn_charts: list[Chart]
    ) -> tuple[Output, list[Shown]]:
        raise NotImplementedError

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sqls = (output or {}).get("sql") or []
        return str(sqls[self.sql_index]) if sqls else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        text = output.get("text")
        return text if isinstance(text, str) else None
