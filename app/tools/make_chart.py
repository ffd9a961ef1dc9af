"""The tool ``make_chart``: a chart of a result of this turn from a declarative spec
(``app.tools.charts``); the model names columns, nothing it sends is executed."""

from __future__ import annotations

from app.tools.charts import Chart, ChartSpec, build_figure
from app.tools.tool import Output, Shown, Tool, ToolContext

NAME = "make_chart"


class MakeChart(Tool[ChartSpec]):
    name = NAME
    description = (
        "Show the owner a chart of a run_sql result of this turn; columns must come from that "
        "result."
    )
    input = ChartSpec
    replays = offline = True

    async def run(self, context: ToolContext, spec: ChartSpec) -> tuple[Output, list[Shown]]:
        charts = context.turn.charts
        result = context.turn.result_for(spec.result_id)
        figure = build_figure(spec, result.columns, result.rows)
        chart = Chart(id=f"c{len(charts) + 1}", spec=spec, figure=figure)
        charts.append(chart)
        drawn = {"chart_id": chart.id, "kind": spec.kind, "points": len(result.rows)}
        return drawn | {"shown": True}, [chart]


TOOL = MakeChart()
