"""make_chart: specs are checked against the result's columns; nothing is executed."""

from __future__ import annotations

import json

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


def test_every_chart_has_plotlys_white_template_and_its_own_copy():
    named = json.loads(go.Figure(layout={"template": "plotly_white"}).to_json())["layout"]
    first = build_figure(spec(kind="bar"), COLUMNS, ROWS)
    assert first["layout"]["template"] == named["template"]
    first["layout"]["template"]["layout"]["font"] = {"size": 99}
    second = build_figure(spec(kind="pie"), COLUMNS, ROWS)
    assert second["layout"]["template"] == named["template"]  # one figure's change stays there


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
