"""An answer as the chat shows it: each result once, as its table (formatted like the text:
``app.figures``), never again as a markdown table in the text above it.

The stored answer keeps its text tables (the admin transcript, ``bichat ask`` and the API
show them); the chat removes a markdown table whose header names the columns of a table it
attaches, and says where the rows are instead."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.figures import Locale
from app.tools.tool import ToolCallRecord

DELIMITER = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
LEAD_IN = re.compile(r"^([\d,]+) rows\b.*:\s*$")


@dataclass(frozen=True)
class TableView:
    """How a table's values look: the shop's locale and its tool's output (formats)."""

    locale: Locale
    output: Mapping[str, Any] | None = None


def outputs_by_result(calls: Iterable[ToolCallRecord]) -> dict[str, Mapping[str, Any]]:
    """Each result's tool output (what the semantic layer knows of its columns), by id."""
    return {
        str(call.output["result_id"]): call.output
        for call in calls
        if call.output is not None and call.output.get("result_id")
    }


def words(cell: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", cell.casefold().replace("\\", ""))


def header_cells(line: str) -> list[str]:
    return [words(cell) for cell in line.strip().strip("|").split("|")]


def table_end(lines: Sequence[str], start: int) -> int:
    end = start + 2
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    return end


def is_table(lines: Sequence[str], index: int) -> bool:
    return (
        index + 1 < len(lines)
        and lines[index].lstrip().startswith("|")
        and bool(DELIMITER.match(lines[index + 1].strip()))
    )


def without_grid_tables(text: str, grids: Iterable[Sequence[str]]) -> str:
    """``text`` without the markdown tables that repeat a grid (by their columns)."""
    shown = {tuple(words(column) for column in columns) for columns in grids}
    lines, index = text.split("\n"), 0
    kept: list[str] = []
    while index < len(lines):
        if is_table(lines, index) and tuple(header_cells(lines[index])) in shown:
            end = table_end(lines, index)
            point_below(kept)
            index = end
            continue
        kept.append(lines[index])
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def point_below(kept: list[str]) -> None:
    """The engine's ``N rows ...:`` before a removed table says the rows are below."""
    for back in range(len(kept) - 1, -1, -1):
        if not kept[back].strip():
            continue
        found = LEAD_IN.match(kept[back].strip())
        if found:
            kept[back] = f"{found.group(1)} rows, in the table below."
        return
