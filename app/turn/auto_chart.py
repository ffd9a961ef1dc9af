"""A chart for an answer that has none: when the turn's last result is a time series or a
small breakdown (one category, up to 12 values), ``make_chart`` draws it, as a call of its own
that is stored, shown and drawn again on resume like any other, whoever answered (the
question engine, or a model that did not ask for one).

A ``query_metrics`` result says which columns are time, categories and metrics; a free
query's are read from its values (``app.figures``: dates and times are time, text is a
category, numbers that are not identifiers or years are metrics)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from app.answering.events import AnswerEvent, ChartShown, ToolFinished, ToolStarted
from app.answering.question import Question
from app.figures import column_formats
from app.questions.charts import chart_spec
from app.tools import registry
from app.tools.charts import Chart
from app.tools.sql import SqlResult
from app.tools.tool import ToolCallRecord, ToolContext, ToolServices

TITLE_CHARS = 120


def column_roles(result: SqlResult) -> dict[str, str]:
    """Time, dimension or metric, for the columns of a free query that are one of them."""
    formats = column_formats(result.columns, result.rows)
    roles: dict[str, str] = {}
    metrics: dict[str, list[str]] = {}
    for index, column in enumerate(result.columns):
        fmt = formats.get(column, "")
        values = [row[index] for row in result.rows if row[index] is not None]
        if fmt.startswith("date"):
            roles[column] = "time"
        elif values and all(isinstance(v, str) for v in values):
            roles[column] = "dimension"
        elif fmt != "plain" and values and all(isinstance(v, int | float) for v in values):
            metrics.setdefault(fmt, []).append(column)
    first = next(iter(metrics.values()), [])  # one scale: money beside counts would flatten
    return roles | dict.fromkeys(first, "metric")


def chart_input(result_id: str, result: SqlResult, output: Mapping[str, Any]) -> dict[str, Any]:
    roles = output.get("column_roles") or column_roles(result)
    return {"result_id": result_id, "columns": result.columns, "rows": result.rows} | {
        "column_roles": roles
    }


def output_of(result_id: str, calls: Iterable[ToolCallRecord]) -> Mapping[str, Any]:
    for call in calls:
        if call.output is not None and call.output.get("result_id") == result_id:
            return call.output
    return {}


def auto_spec(question: Question, calls: list[ToolCallRecord]) -> dict[str, Any] | None:
    """A ``make_chart`` spec for the turn's last result, or None (a chart exists, or none
    helps)."""
    turn = question.results
    if turn.charts or not turn.results:
        return None
    result_id, result = list(turn.results.items())[-1]
    output = output_of(result_id, calls)
    title = str(output.get("interpretation") or question.text)[:TITLE_CHARS]
    return chart_spec(chart_input(result_id, result, output), "auto", title)


async def auto_chart(
    question: Question, calls: list[ToolCallRecord], services: ToolServices | None
) -> list[AnswerEvent]:
    """The events of drawing the automatic chart (none when no chart helps)."""
    spec = auto_spec(question, calls) if services is not None else None
    if spec is None or services is None:
        return []
    context = ToolContext(
        tenant=question.tenant,
        session_id=question.session_id,
        services=services,
        turn=question.results,
        purpose=question.channel,
    )
    call_id = f"auto_{uuid.uuid4().hex[:12]}"
    tool = registry.tool_named(registry.MAKE_CHART)
    assert tool is not None
    started = asyncio.get_running_loop().time()
    reply = await registry.invoke(tool, context, spec)
    elapsed = round((asyncio.get_running_loop().time() - started) * 1000, 1)
    record = registry.record(call_id, registry.MAKE_CHART, spec, reply, elapsed)
    charts = [ChartShown(shown) for shown in reply.shown if isinstance(shown, Chart)]
    return [ToolStarted(call_id, registry.MAKE_CHART, spec), ToolFinished(record), *charts]
