"""Chainlit elements for results: a table (the built-in dataframe view fed JSON, no pandas),
the full result as CSV, and plotly charts. Values are data, rendered as text: the table
view shows cells as text, the CSV defuses spreadsheet formulas, and chart texts (category
labels, series names, titles) have ``&``, ``<`` and ``>`` written as entities, since plotly
reads a subset of HTML in them (``<a href>`` makes a clickable link)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import chainlit as cl
import plotly.graph_objects as go
from chainlit.element import Element
from pydantic.dataclasses import dataclass

from app.figures import Locale, column_formats, shown_rows
from app.spreadsheet import spreadsheet_cell, spreadsheet_safe
from app.tools.charts import Chart
from app.tools.sql import SqlResult


@dataclass
class JsonTable(Element):
    """Chainlit's dataframe view, fed ``{"columns", "index", "data"}`` as JSON text."""

    type: ClassVar[Literal["dataframe"]] = "dataframe"
    size: Literal["small", "medium", "large"] | None = "large"
    mime: str = "text/plain"  # the view parses the text itself; application/json breaks it


def table_payload(result: SqlResult, formats: Mapping[str, str], locale: Locale) -> str:
    """The rows as the answer's text shows them (``app.figures``); the CSV has them raw."""
    payload = {
        "columns": result.columns,
        "index": list(range(len(result.rows))),
        "data": shown_rows(result.columns, result.rows, formats, locale),
    }
    return json.dumps(payload, default=str)


def table_element(
    result: SqlResult,
    *,
    name: str,
    output: Mapping[str, Any] | None = None,
    locale: Locale | None = None,
) -> JsonTable:
    formats = column_formats(result.columns, result.rows, output)
    content = table_payload(result, formats, locale or Locale())
    return JsonTable(name=name, display="inline", content=content)


def csv_bytes(columns: list[str], rows: list[list[Any]]) -> bytes:
    """The result as CSV; text that a spreadsheet would run as a formula is defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet_safe(column) for column in columns)
    for row in rows:
        writer.writerow(spreadsheet_cell(csv_value(value)) for value in row)
    return buffer.getvalue().encode("utf-8")


def csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else value


def csv_element(result: SqlResult, *, name: str) -> cl.File:
    return cl.File(
        name=name, content=csv_bytes(result.columns, result.rows), display="inline", mime="text/csv"
    )


def chart_element(chart: Chart) -> cl.Plotly:
    return cl.Plotly(
        name=chart.spec.title or chart.id,
        figure=go.Figure(plotly_inert(chart.figure)),
        display="inline",
    )


PLOTLY_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_inert(node: Any, key: str = "") -> Any:
    """The figure with every text shown as its characters (plotly decodes the entities);
    the template (colours, fonts) is plotly's own and left alone."""
    if isinstance(node, str):
        return node.translate(PLOTLY_ENTITIES)
    if isinstance(node, dict):
        return {k: v if k == "template" else plotly_inert(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [plotly_inert(item, key) for item in node]
    return node
