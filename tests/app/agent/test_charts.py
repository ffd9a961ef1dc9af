"""make_chart: specs are checked against the result's columns; nothing is executed."""

from __future__ import annotations

import json
from datetime import date, datetime

import plotly.graph_objects as go
import pytest
from pydantic import ValidationError

from app.tools import make_chart, registry
from app.tools.charts import ChartError, ChartSpec, build_figure
from app.tools.sql import SqlResult
from app.tools.tool import ToolContext, TurnResults

COLUMNS = ["month", "channel", "revenue", "orders"]
ROWS = [
    ["2026-09-01", "web", 100.5, 3],
    ["2026-09-01", "mobile", 80.0, 2],
    ["2026-10-01", "web", 120.25, 4],
    ["2026-10-01", "mobile", None, 0],
]


def spec(**fields):
    return ChartSpec(**{"kind": "line", "x": "month", "y": ["revenue"], **fields})


@pytest.mark.parametrize("kind", ["bar", "line", "area", "pie", "scatter"])
def test_every_kind_draws(kind):
    figure = build_figure(spec(kind=kind), COLUMNS, ROWS)
    assert figure["data"][0]["type"] == ("scatter" if kind in ("line", "area") else kind)
    json.dumps(figure)  # JSON-safe for the browser


def plotly_figure(chart: ChartSpec, columns: list[str], rows: list[list]) -> dict:
    """The same chart through plotly's validated figure objects (how build_figure drew it)."""
    figure = go.Figure()
    x, series = columns.index(chart.x), chart.series
    keys = list(dict.fromkeys(r[columns.index(series)] for r in rows)) if series else [None]
    for key in keys:
        members = [r for r in rows if key is None or r[columns.index(series)] == key]
        for name in chart.y:
            label = name if key is None else (f"{key}" if len(chart.y) == 1 else f"{key} {name}")
            xs, ys = [r[x] for r in members], [r[columns.index(name)] for r in members]
            if chart.kind == "bar":
                figure.add_trace(go.Bar(x=xs, y=ys, name=label))
            elif chart.kind == "pie":
                figure.add_trace(go.Pie(labels=xs, values=ys, name=label))
            else:
                mode = "markers" if chart.kind == "scatter" else "lines+markers"
                fill = "tozeroy" if chart.kind == "area" else None
                figure.add_trace(go.Scatter(x=xs, y=ys, name=label, mode=mode, fill=fill))
    layout = {"title": {"text": chart.title or ""}, "xaxis": {"title": chart.x}}
    if chart.kind != "pie":
        layout["yaxis"] = {"title": ", ".join(chart.y)}
    figure.update_layout(**layout, template="plotly_white", margin={"t": 50})
    return json.loads(figure.to_json())


TYPED_COLUMNS = ["day", "at", "channel", "revenue", "orders", "share"]
TYPED_ROWS = [
    [date(2026, 9, 1), datetime(2026, 9, 1, 8, 30), "web", 100.5, 3, 0.25],
    [date(2026, 9, 2), datetime(2026, 9, 2, 9, 0), "mobile <b>", 80.0, None, 0.75],
    [date(2026, 9, 3), datetime(2026, 9, 3, 23, 59), "web", None, 0, float("nan")],
]


@pytest.mark.parametrize("kind", ["bar", "line", "area", "pie", "scatter"])
@pytest.mark.parametrize(
    "shape",
    [
        {"x": "day", "y": ["revenue"]},
        {"x": "at", "y": ["orders", "share"], "title": "Orders & share"},
        {"x": "day", "y": ["revenue"], "series": "channel"},
        {"x": "channel", "y": ["revenue", "orders"], "series": "channel"},
    ],
)
def test_a_chart_is_what_plotlys_figure_objects_make_of_it(kind, shape):
    chart = ChartSpec(kind=kind, **shape)
    if kind == "pie" and (len(chart.y) != 1 or chart.series):
        with pytest.raises(ChartError):
            build_figure(chart, TYPED_COLUMNS, TYPED_ROWS)
        return
    expected = plotly_figure(chart, TYPED_COLUMNS, TYPED_ROWS)
    assert build_figure(chart, TYPED_COLUMNS, TYPED_ROWS) == expected


def test_every_chart_has_its_own_copy_of_the_template():
    first = build_figure(spec(kind="bar"), COLUMNS, ROWS)
    first["layout"]["template"]["layout"]["font"] = {"size": 99}
    second = build_figure(spec(kind="bar"), COLUMNS, ROWS)
    assert second["layout"]["template"]["layout"]["font"] != {"size": 99}


def test_series_split_the_data_into_one_trace_each():
    figure = build_figure(spec(series="channel", title="By channel"), COLUMNS, ROWS)
    assert [t["name"] for t in figure["data"]] == ["web", "mobile"]
    assert figure["data"][0]["y"] == [100.5, 120.25]
    assert figure["layout"]["title"]["text"] == "By channel"


def test_several_y_columns_become_several_traces():
    figure = build_figure(spec(kind="bar", y=["revenue", "orders"]), COLUMNS, ROWS)
    assert [t["name"] for t in figure["data"]] == ["revenue", "orders"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"x": "week"}, "no column 'week'"),
        ({"y": ["profit"]}, "no column 'profit'"),
        ({"y": ["channel"]}, "'channel' is not numeric"),
        ({"kind": "pie", "y": ["revenue", "orders"]}, "exactly one y column"),
        ({"series": "nope"}, "columns are month, channel, revenue, orders"),
    ],
)
def test_bad_specs_are_refused_with_a_reason(fields, message):
    with pytest.raises(ChartError, match=message):
        build_figure(spec(**fields), COLUMNS, ROWS)


def test_specs_are_data_not_code():
    with pytest.raises(ValidationError):
        ChartSpec(kind="__import__('os').system('id')", x="a", y=["b"])
    with pytest.raises(ValidationError):
        ChartSpec(kind="bar", x="a", y=[])


async def draw(state: TurnResults, arguments: dict) -> str:
    context = ToolContext(tenant=None, session_id=None, services=None, turn=state)
    return (await registry.invoke(make_chart.TOOL, context, arguments)).content


async def test_the_tool_draws_the_latest_result_of_the_turn_or_a_named_one():
    state = TurnResults()
    refused = json.loads(await draw(state, {"kind": "bar", "x": "month", "y": ["revenue"]}))
    assert "run the query first" in refused["error"]["message"]
    first = SqlResult("q1", ["a", "n"], [["x", 1]], 1, False, 1.0)
    state.add_result(first)
    state.add_result(SqlResult("q2", COLUMNS, ROWS, 4, False, 1.0))
    drawn = json.loads(await draw(state, {"kind": "bar", "x": "month", "y": ["revenue"]}))
    assert drawn == {"chart_id": "c1", "kind": "bar", "points": 4, "shown": True}
    named = json.loads(await draw(state, {"kind": "pie", "x": "a", "y": ["n"], "result_id": "r1"}))
    assert named["points"] == 1 and len(state.charts) == 2
    missing = json.loads(
        await draw(state, {"kind": "pie", "x": "a", "y": ["n"], "result_id": "r9"})
    )
    assert "results are r1, r2" in missing["error"]["message"]
