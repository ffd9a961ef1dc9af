"""How the CLI prints: rich tables for people, JSON for machines, one-line errors for both."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from app.errors import BichatError

stdout = Console(soft_wrap=True)  # lines stay whole when piped
stderr = Console(stderr=True)
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")


def print_result(data: Any, *lines: str, as_json: bool) -> None:
    """A command's result: ``data`` as JSON for machines, or ``lines`` for people."""
    if as_json:
        print_json(data)
        return
    for line in lines:
        stdout.print(line)


def print_rows(rows: Sequence[dict[str, Any]], *, title: str, as_json: bool) -> None:
    """A command's list: JSON for machines, a table for people."""
    if as_json:
        print_json(rows)
    else:
        print_table(rows, title=title)


def print_table(rows: Sequence[dict[str, Any]], *, title: str | None = None) -> None:
    columns = list(rows[0]) if rows else []
    print_grid(columns, [list(row.values()) for row in rows], title=title)


def print_grid(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
) -> None:
    """A table of rows given as lists: repeated column names (``count``, ``count``) all show."""
    if not rows:
        stderr.print(f"(no {title or 'rows'})")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row))
    stdout.print(table)


def print_error(error: BichatError, *, as_json: bool) -> None:
    if as_json:
        print_json(error.to_dict())
    else:
        sys.stderr.write(f"error: {error.message}\n")
