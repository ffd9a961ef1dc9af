"""Questions the insights answer: "why did revenue drop last week?" (``explain_change``) and
"forecast revenue for the next 4 weeks" (``forecast_metric``). The rest of the question is read
as any metric question (one metric, a named period); anything else it names (a breakdown, a
filter, a word not understood) turns the answer into a clarification: a wrong answer is worse
than none."""

from __future__ import annotations

import re
from typing import Any

from app.insights.forecast import adds_up_over_time
from app.questions.draft import build_draft
from app.questions.intent import Intent, answering, clarify
from app.questions.reading import read
from app.tools import registry

WHY = re.compile(
    r"^\s*(?:(?:and|so|but)\s+)?(?:why\b|what\s+(?:drove|caused|explains|is\s+behind|was\s+behind)"
    r"|explain\b)",
    re.IGNORECASE,
)
MOVES = re.compile(
    r"\b(?:why|what|did|does|do|has|have|was|were|is|are|explain|drove|caused|explains|behind|"
    r"the|our|my|so|much|go(?:ne)?|went|up|down|drop(?:ped)?|fall|fell|fallen|rise|rose|risen|"
    r"change[ds]?|increase[ds]?|decrease[ds]?|grow|grew|grown|decline[ds]?|dip(?:ped)?|"
    r"jump(?:ed)?|spike[ds]?|slump(?:ed)?|in|the\s+drop|the\s+rise|the\s+change)\b",
    re.IGNORECASE,
)
FORECAST = re.compile(r"\b(?:forecast|predict|projection|project)\w*\b", re.IGNORECASE)
HORIZON = re.compile(
    r"\b(?:for\s+)?(?:the\s+)?(?:next|coming)\s+(\d{1,3}|a|one|two|three|four|five|six|"
    r"eight|twelve)?\s*(day|week|month)s?\b",
    re.IGNORECASE,
)
NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8}
NUMBERS["twelve"] = 12


def insight_intent(text: str, context: Any) -> Intent | None:
    """An explain or forecast intent (or a clarification about one); None: not such a question."""
    if FORECAST.search(text):
        return forecast_intent(text, context)
    if WHY.search(text):
        return explain_intent(text, context)
    return None


def metric_and_period(rest: str, context: Any) -> tuple[list[str], dict[str, Any], Any, Any]:
    reading = read(rest, context.lexicon, context.index, context.today)
    draft = build_draft(reading, context.scene)
    return draft.metrics, draft.query() if draft.metrics else {}, reading, draft


def explain_intent(text: str, context: Any) -> Intent:
    rest = MOVES.sub(" ", text.replace("?", " "))
    metrics, query, reading, draft = metric_and_period(rest, context)
    example = "Why did revenue change last week?"
    if draft.problems or len(metrics) != 1 or query.get("by") or query.get("filters"):
        return clarify(
            "Which measure, and over which period, should I explain? I can explain why one "
            "measure changed over a period (its drivers by channel, region, category...), but "
            "I could not read which measure and period you mean. For example:",
            [example, "Why did average order value change last month?"],
            reason="explain_unclear",
        )
    period = query.get("period")
    if period is None:
        return clarify(
            f"Over which period should I explain the change in {metrics[0].replace('_', ' ')}?",
            [f"Why did {metrics[0].replace('_', ' ')} change last week?"],
            reason="explain_period",
        )
    compare = "year" if reading.times.compare == "year" else "previous"
    arguments = {"metric": metrics[0], "period": period, "compare": compare}
    return answering(
        "explain", tool=registry.EXPLAIN_CHANGE, arguments=arguments, confident=not reading.fuzzy
    )


def forecast_intent(text: str, context: Any) -> Intent:
    horizon = HORIZON.search(text)
    rest = HORIZON.sub(" ", FORECAST.sub(" ", text.replace("?", " ")))
    rest = re.sub(r"\b(?:for|of|the|our|my|please|what|will|be|is)\b", " ", rest, flags=re.I)
    metrics, query, reading, draft = metric_and_period(rest, context)
    if draft.problems or len(metrics) != 1 or query.get("by") or query.get("filters"):
        return clarify(
            "Which measure should I forecast, and how far ahead? I can forecast one measure "
            "that adds up (revenue, orders, units...) for the next days, weeks or months. "
            "For example:",
            ["Forecast revenue for the next 4 weeks", "Forecast orders for the next 3 months"],
            reason="forecast_unclear",
        )
    metric = context.model.metrics[metrics[0]]
    if not adds_up_over_time(context.model, metric):
        return clarify(
            f"{metric.label} does not add up over days, so I don't forecast it. Shall I forecast "
            "its parts instead?",
            ["Forecast revenue for the next 4 weeks", "Forecast orders for the next 4 weeks"],
            reason="not_forecastable",
        )
    count, grain = (4, "week")
    if horizon is not None:
        said = (horizon.group(1) or "1").lower()
        count = int(said) if said.isdigit() else NUMBERS.get(said, 1)
        grain = horizon.group(2).lower()
    arguments = {"metric": metric.name, "horizon": count, "grain": grain}
    return answering(
        "forecast",
        tool=registry.FORECAST_METRIC,
        arguments=arguments,
        confident=not reading.fuzzy and horizon is not None,
    )
