"""A turn's typed events and its result as JSON, for the channels that speak JSON (the REST
API's server-sent events and answers, the MCP server's ``ask``). Each event is sent under its
own name (``event.type``); its data is the event's fields."""

from __future__ import annotations

from typing import Any

from app.tools.charts import Chart
from app.turn.events import (
    Answered,
    ChartShown,
    Failed,
    StillWorking,
    Token,
    ToolFinished,
    ToolStarted,
    TurnEvent,
)
from app.turn.result import TurnResult


def chart_json(chart: Chart) -> dict[str, Any]:
    """A chart as its spec and the plotly figure drawn from it (data and layout)."""
    return {"id": chart.id, "spec": chart.spec.model_dump(), "figure": chart.figure}


def result_json(result: TurnResult) -> dict[str, Any]:
    """``TurnResult.to_dict`` (answer, SQL, calls, usage and cost) with the turn's tables
    (every query result, whole as the tools returned it), charts drawn, and the follow-up
    questions; ``conversation_id`` names the session to continue."""
    return {
        **result.to_dict(),
        "conversation_id": str(result.session_id),
        "tables": [
            {"id": result_id, **table.to_dict()} for result_id, table in result.results.items()
        ],
        "charts": [chart_json(chart) for chart in result.charts],
        "suggestions": result.suggestions,
    }


def event_json(event: TurnEvent) -> dict[str, Any]:
    """The data of one event: what it carries, as JSON-safe values."""
    match event:
        case Token(text):
            return {"text": text}
        case ToolStarted(call_id, tool, arguments):
            return {"call_id": call_id, "tool": tool, "input": arguments}
        case ToolFinished(call):
            return {"call": call.to_dict()}
        case ChartShown(chart):
            return {"chart": chart_json(chart)}
        case StillWorking(what, attempt, attempts, waited_s):
            return {"what": what, "attempt": attempt, "attempts": attempts, "waited_s": waited_s}
        case Answered(result) | Failed(result):
            return result_json(result)
