"""Charts without a model: a time series becomes a line chart, one category with up to 12
values a bar chart, shares a pie (up to 8 slices) or a bar chart; as a ``make_chart`` spec
over the result's columns, so it is drawn and stored like a model's chart."""

from __future__ import annotations

from typing import Any

MAX_BARS = 12
MAX_SLICES = 8
MAX_SERIES = 12


def chart_spec(output: dict[str, Any], wanted: str | None, title: str) -> dict[str, Any] | None:
    """A ``make_chart`` spec for a ``query_metrics`` result, or None when no chart helps."""
    roles: dict[str, str] = output.get("column_roles") or {}
    rows = output.get("rows") or []
    if len(rows) < 2 or wanted is None:
        return None
    metrics = [c for c, r in roles.items() if r == "metric"]
    shares = [c for c, r in roles.items() if r == "share_pct"]
    times = [c for c, r in roles.items() if r == "time"]
    dimensions = [c for c, r in roles.items() if r == "dimension"]
    if not metrics:
        return None
    spec: dict[str, Any] = {"title": title[:200], "result_id": output.get("result_id")}
    if times and len(dimensions) <= 1:
        series = dimensions[0] if dimensions else None
        if series and distinct(output, series) > MAX_SERIES:
            return None
        kind = wanted if wanted in ("line", "bar", "area") else "line"
        return (
            spec
            | {"kind": kind, "x": times[0], "y": metrics[:1] if series else metrics[:3]}
            | ({"series": series} if series else {})
        )
    if len(dimensions) != 1 or times:
        return None
    if shares and len(rows) <= MAX_SLICES and wanted in ("auto", "pie"):
        return spec | {"kind": "pie", "x": dimensions[0], "y": shares[:1]}
    if len(rows) > MAX_BARS and wanted == "auto":
        return None
    kind = wanted if wanted in ("bar", "pie", "line", "area") else "bar"
    return spec | {
        "kind": kind,
        "x": dimensions[0],
        "y": metrics[:1] if kind == "pie" else metrics[:3],
    }


def distinct(output: dict[str, Any], column: str) -> int:
    index = output["columns"].index(column)
    return len({row[index] for row in output["rows"]})
