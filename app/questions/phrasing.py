"""Questions written back in words: the options a clarification offers are questions the
engine itself reads the same way (tested), built from a semantic query or a search."""

from __future__ import annotations

import re
from typing import Any

from app.semantic.model import SemanticModel

PERIOD_WORDS = {
    "today": "today",
    "yesterday": "yesterday",
    "this-week": "this week",
    "last-week": "last week",
    "this-month": "this month",
    "last-month": "last month",
    "this-quarter": "this quarter",
    "last-quarter": "last quarter",
    "this-year": "this year",
    "last-year": "last year",
    "all": "of all time",
}


def period_words(period: str | None) -> str:
    if period is None:
        return ""
    if period in PERIOD_WORDS:
        return PERIOD_WORDS[period]
    match = re.fullmatch(r"(last|previous)-(\d+)-(\w+?)s?", period)
    if match:
        kind, count, unit = match.groups()
        whole = " complete" if kind == "previous" else ""
        return f"in the last {count}{whole} {unit}{'s' if count != '1' else ''}"
    match = re.fullmatch(r"q([1-4])(?:-(\d{4}))?", period)
    if match:
        return f"in Q{match.group(1)}" + (f" {match.group(2)}" if match.group(2) else "")
    return f"in {period.replace('-', ' ')}"


def metric_words(model: SemanticModel, name: str) -> str:
    return model.metrics[name].label.lower() if name in model.metrics else name.replace("_", " ")


def dimension_words(model: SemanticModel, name: str) -> str:
    dimension = model.dimensions.get(name)
    if dimension is not None:
        return dimension.label
    return name.replace("_", " ")


def query_question(model: SemanticModel, query: dict[str, Any]) -> str:
    """``{"metrics": ["revenue"], "by": ["channel"], "period": "last-month", "top": 5}`` ->
    "Top 5 channel by revenue last month"."""
    metrics = " and ".join(metric_words(model, m) for m in query.get("metrics", []))
    by = [dimension_words(model, d) for d in query.get("by", [])]
    values = [v for f in query.get("filters", []) if f.get("op", "in") == "in" for v in f["values"]]
    parts: list[str] = []
    limit = query.get("top") or query.get("bottom")
    if limit and by:
        side = "Top" if query.get("top") else "Bottom"
        parts.append(f"{side} {limit} {plural(by[0]) if limit > 1 else by[0]} by {metrics}")
        by = by[1:]
    else:
        parts.append(metrics[:1].upper() + metrics[1:])
        if by:
            parts.append("by " + " and ".join(by))
            by = []
    if by:
        parts.append("by " + " and ".join(by))
    if values:
        parts.append("for " + " and ".join(values))
    if query.get("grain"):
        parts.append(f"per {query['grain']}")
    words = period_words(query.get("period"))
    if words:
        parts.append(words)
    if query.get("compare") == "previous":
        parts.append("vs the period before")
    elif query.get("compare") == "year":
        parts.append("vs a year earlier")
    return " ".join(parts)


def plural(words: str) -> str:
    if words.endswith("y") and not words.endswith(("ay", "ey", "oy")):
        return words[:-1] + "ies"
    return words if words.endswith("s") else words + "s"
