"""The tool ``forecast_metric``: a metric's forecast by day, week or month with 80% prediction
intervals (``app.insights.forecast``), with a chart of the recent history and the forecast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.errors import BichatError
from app.insights.forecast import forecast
from app.insights.source import MetricSource
from app.tools.charts import Chart, ChartSpec, build_figure
from app.tools.tool import Facts, Output, Shown, Tool, ToolContext

NAME = "forecast_metric"


class ForecastMetricInput(BaseModel):
    metric: str = Field(description="A metric that adds up (revenue, orders, units...).")
    horizon: int = Field(ge=1, le=366, description="How many days, weeks or months ahead.")
    grain: Literal["day", "week", "month"] = "week"


def forecast_chart(output: Output, turn_charts: list[Chart]) -> Chart:
    rows: list[list[Any]] = [[h["start"], h["value"], None, None] for h in output["history"]]
    rows += [[p["start"], p["value"], p["lower"], p["upper"]] for p in output["points"]]
    columns = ["start", output["metric"], "lower", "upper"]
    spec = ChartSpec(kind="line", x="start", y=columns[1:], title=output["label"] + " forecast")
    chart = Chart(
        id=f"c{len(turn_charts) + 1}", spec=spec, figure=build_figure(spec, columns, rows)
    )
    turn_charts.append(chart)
    return chart


class ForecastMetric(Tool[ForecastMetricInput]):
    name = NAME
    description = (
        "Forecast a metric that adds up for the next N days, weeks or months, with 80% "
        "prediction intervals (weekly and yearly seasonality), in words and as a chart."
    )
    input = ForecastMetricInput
    runs_sql = replays = offline = standalone = True

    async def run(
        self, context: ToolContext, arguments: ForecastMetricInput
    ) -> tuple[Output, list[Shown]]:
        services = context.services
        if services.semantic is None:
            raise BichatError("the semantic layer is not available here", code="unavailable")
        source = MetricSource(
            services.semantic, services.executor, context.tenant, context=context.audit_label
        )
        found = await forecast(source, arguments.metric, arguments.horizon, arguments.grain)
        output = found.to_dict()
        return output, [forecast_chart(output, context.turn.charts)]

    def summarise(self, output: Output) -> Output:
        keep = ("metric", "grain", "horizon", "model", "points", "text", "sql")
        return {k: output.get(k) for k in keep}

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sqls = (output or {}).get("sql") or []
        return sqls[-1] if sqls else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        text = output.get("text")
        return text if isinstance(text, str) else None

    def facts(self, output: Mapping[str, Any]) -> Facts:
        return Facts([str(output.get("model", ""))], [str(output.get("text", ""))])


TOOL = ForecastMetric()
