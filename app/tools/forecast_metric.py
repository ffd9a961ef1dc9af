"""The tool ``forecast_metric``: a metric's forecast by day, week or month with 80% prediction
intervals (``app.insights.forecast``), with a chart of the recent history and the forecast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.insights.forecast import forecast
from app.insights.source import MetricSource
from app.tools.charts import Chart, ChartSpec
from app.tools.insight_tool import InsightTool, turn_chart
from app.tools.tool import Facts, Output, Shown

NAME = "forecast_metric"


class ForecastMetricInput(BaseModel):
    metric: str = Field(description="A metric that adds up (revenue, orders, units...).")
    horizon: int = Field(ge=1, le=366, description="How many days, weeks or months ahead.")
    grain: Literal["day", "week", "month"] = "week"


class ForecastMetric(InsightTool[ForecastMetricInput]):
    name = NAME
    description = (
        "Forecast a metric that adds up for the next N days, weeks or months, with 80% "
        "prediction intervals (weekly and yearly seasonality), in words and as a chart."
    )
    input = ForecastMetricInput
    sql_index = -1  # the history it forecast from

    async def insight(
        self, source: MetricSource, arguments: ForecastMetricInput, turn_charts: list[Chart]
    ) -> tuple[Output, list[Shown]]:
        found = await forecast(source, arguments.metric, arguments.horizon, arguments.grain)
        output = found.to_dict()
        return output, [forecast_chart(output, turn_charts)]

    def summarise(self, output: Output) -> Output:
        keep = ("metric", "grain", "horizon", "model", "points", "text", "sql")
        return {k: output.get(k) for k in keep}

    def facts(self, output: Mapping[str, Any]) -> Facts:
        return Facts([str(output.get("model", ""))], [str(output.get("text", ""))])


def forecast_chart(output: Output, turn_charts: list[Chart]) -> Chart:
    rows: list[list[Any]] = [[h["start"], h["value"], None, None] for h in output["history"]]
    rows += [[p["start"], p["value"], p["lower"], p["upper"]] for p in output["points"]]
    columns = ["start", output["metric"], "lower", "upper"]
    spec = ChartSpec(kind="line", x="start", y=columns[1:], title=output["label"] + " forecast")
    return turn_chart(turn_charts, spec, columns, rows)


TOOL = ForecastMetric()
