"""The agent's query_metrics tool: a scripted model asks for metrics, gets rows with their
interpretation, charts them, and every step is stored with the SQL that ran."""

from __future__ import annotations

import json

from langchain_core.messages import SystemMessage, ToolMessage

from app.semantic.model import default_model
from app.tools.query_metrics import build_input_model
from tests.app.agent.conftest import stored_messages
from tests.scripted_model import Call, ScriptedChatModel

ASK = {"metrics": ["revenue", "orders"], "by": ["channel"], "period": "2025"}


async def test_query_metrics_answers_charts_and_is_stored(make_agent, shop, engine):
    model = ScriptedChatModel(
        script=[
            Call("query_metrics", ASK),
            Call("make_chart", {"kind": "bar", "x": "channel", "y": ["revenue"]}),
            "Web sold most.",
        ]
    )
    result = await make_agent(model).ask(tenant=shop, question="Revenue by channel in 2025?")
    assert result.error is None and result.answer == "Web sold most."
    call = result.tool_calls[0]
    assert call.name == "query_metrics" and call.error is None
    summary = call.output
    assert summary["interpretation"] == (
        "Revenue and Orders by channel · 1 Jan – 31 Dec 2025 · "
        "order totals of paid, shipped or delivered orders"
    )
    assert summary["columns"] == ["channel", "revenue", "orders"]
    assert summary["sql"].startswith("WITH m1 AS") and result.sql == [summary["sql"]]
    table = result.results[summary["result_id"]]
    assert table is not None and table.row_count == summary["row_count"] > 0
    assert result.charts[0].figure["data"][0]["y"] == [row[1] for row in table.rows]
    tool_reply = next(m for m in model.seen[1] if isinstance(m, ToolMessage))
    reply = json.loads(str(tool_reply.content))
    assert reply["interpretation"] == summary["interpretation"] and reply["partial"] is False
    assert reply["rows"] == table.rows
    rows = await stored_messages(engine, result.session_id)
    stored = next(r for r in rows if r["tool_name"] == "query_metrics")
    assert stored["tool_input"] == ASK and stored["tool_output"]["sql"] == summary["sql"]


async def test_bad_arguments_go_back_to_the_model_as_errors(make_agent, shop):
    bad = Call("query_metrics", {"metrics": ["revenue"], "by": ["category"], "filters": [
        {"dimension": "category", "values": ["tentz"]}
    ]})  # fmt: skip
    model = ScriptedChatModel(script=[bad, "I could not find that category."])
    result = await make_agent(model).ask(tenant=shop, question="Revenue for tentz?")
    call = result.tool_calls[0]
    assert call.error is not None and call.error.startswith("unknown_value: no category 'tentz'")
    assert "'Tents' (tents)" in call.error


async def test_the_prompt_prefers_query_metrics_and_defines_the_metrics(make_agent, shop):
    model = ScriptedChatModel(script=["Hello."])
    await make_agent(model).ask(tenant=shop, question="Hi")
    system = next(m for m in model.seen[0] if isinstance(m, SystemMessage)).text
    assert "Prefer the query_metrics tool" in system
    assert "- average_order_value (money) = revenue / orders." in system
    assert "(R means orders.status IN ('paid', 'shipped', 'delivered').)" in system


def test_the_tool_schema_enumerates_the_models_names():
    model = default_model()
    schema = build_input_model(model).model_json_schema()
    metric_enum = schema["properties"]["metrics"]["items"]["enum"]
    assert metric_enum == [m.name for m in model.public_metrics]
    assert "costed_revenue" not in metric_enum
    assert schema["properties"]["by"]["items"]["enum"] == model.dimension_names
    assert schema["properties"]["grain"]["enum"][0] == "day"
    # the dimension names are listed once (under by), optional arguments carry no null branch
    text = json.dumps(schema)
    assert text.count('"signed_up"') == 1 and '"null"' not in text
    assert build_input_model(model).model_validate({"metrics": ["revenue"]}).period is None
