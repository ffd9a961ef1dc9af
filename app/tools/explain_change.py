"""The tool ``explain_change``: why a metric changed between a period and the one before (or a
year earlier), its drivers ranked by dimension and value (``app.insights.explain``), with a
chart of the drivers' contributions. Its queries are semantic queries run through the SQL tool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.errors import BichatError
from app.insights.explain import explain
from app.insights.source import MetricSource
from app.tools.charts import Chart, ChartSpec, build_figure
from app.tools.tool import Facts, Output, Shown, Tool, ToolContext

NAME = "explain_change"


class ExplainChangeInput(BaseModel):
    metric: str = Field(description="A metric name (revenue, average_order_value...).")
    period: str = Field(description="A named period: last-week, last-month, 2025-11...")
    compare: Literal["previous", "year"] = "previous"
    top: int = Field(default=10, ge=1, le=50, description="Drivers to list.")


def drivers_chart(output: Output, turn_charts: list[Chart]) -> Chart | None:
    drivers = output.get("drivers") or []
    if not drivers:
        return None
    columns = ["driver", "contribution"]
    rows = [[f"{d['dimension_label']}: {d['value']}", d["contribution"]] for d in drivers[:10]]
    spec = ChartSpec(kind="bar", x="driver", y=["contribution"], title=output["text"][:200])
    chart = Chart(
        id=f"c{len(turn_charts) + 1}", spec=spec, figure=build_figure(spec, columns, rows)
    )
    turn_charts.append(chart)
    return chart


class ExplainChange(Tool[ExplainChangeInput]):
    name = NAME
    description = (
        "Why a metric changed in a period against the previous one or a year earlier: the "
        "change decomposed by every dimension the metric allows, drivers ranked (rates split "
        "into mix and rate effects), in words and as a chart."
    )
    input = ExplainChangeInput
    runs_sql = replays = offline = standalone = True

    async def run(
        self, context: ToolContext, arguments: ExplainChangeInput
    ) -> tuple[Output, list[Shown]]:
        services = context.services
        if services.semantic is None:
            raise BichatError("the semantic layer is not available here", code="unavailable")
        source = MetricSource(
            services.semantic, services.executor, context.tenant, context=context.audit_label
        )
        found = await explain(
            source, arguments.metric, arguments.period, arguments.compare, top=arguments.top
        )
        output = found.to_dict()
        chart = drivers_chart(output, context.turn.charts)
        return output, [chart] if chart else []

    def summarise(self, output: Output) -> Output:
        keep = ("metric", "period", "comparison", "previous", "current", "change", "text", "sql")
        return {k: output.get(k) for k in keep} | {"drivers": (output.get("drivers") or [])[:5]}

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sqls = (output or {}).get("sql") or []
        return sqls[0] if sqls else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        text = output.get("text")
        return text if isinstance(text, str) else None

    def facts(self, output: Mapping[str, Any]) -> Facts:
        drivers = output.get("drivers") or []
        return Facts([f"{len(drivers)} drivers"], [str(output.get("text", ""))])


TOOL = ExplainChange()
