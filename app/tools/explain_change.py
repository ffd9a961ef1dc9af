"""The tool ``explain_change``: why a metric changed between a period and the one before (or a
year earlier), its drivers ranked by dimension and value (``app.insights.explain``), with a
chart of the drivers' contributions. Its queries are semantic queries run through the SQL tool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.insights.explain import explain
from app.insights.source import MetricSource
from app.tools.charts import Chart, ChartSpec
from app.tools.insight_tool import InsightTool, turn_chart
from app.tools.tool import Facts, Output, Shown

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
    return turn_chart(turn_charts, spec, columns, rows)


class ExplainChange(InsightTool[ExplainChangeInput]):
    name = NAME
    description = (
        "Why a metric changed in a period against the previous one or a year earlier: the "
        "change decomposed by every dimension the metric allows, drivers ranked (rates split "
        "into mix and rate effects), in words and as a chart."
    )
    input = ExplainChangeInput

    async def insight(
        self, source: MetricSource, arguments: ExplainChangeInput, turn_charts: list[Chart]
    ) -> tuple[Output, list[Shown]]:
        found = await explain(
            source, arguments.metric, arguments.period, arguments.compare, top=arguments.top
        )
        output = found.to_dict()
        chart = drivers_chart(output, turn_charts)
        return output, [chart] if chart else []

    def summarise(self, output: Output) -> Output:
        keep = ("metric", "period", "comparison", "previous", "current", "change", "text", "sql")
        return {k: output.get(k) for k in keep} | {"drivers": (output.get("drivers") or [])[:5]}

    def facts(self, output: Mapping[str, Any]) -> Facts:
        drivers = output.get("drivers") or []
        return Facts([f"{len(drivers)} drivers"], [str(output.get("text", ""))])


TOOL = ExplainChange()
