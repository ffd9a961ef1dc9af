"""Cells that a spreadsheet shows instead of running: a CSV cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is a formula to Excel and LibreOffice
(``=cmd|' /C calc'!A0`` in a review title would start a program), so such text is prefixed
with ``'``, which spreadsheets take as "this is text" and do not show. Numbers are left as
they are. Used by every CSV bichat hands to people (the chat's result downloads, the admin
usage export); not by ``bichat db export-csv``, whose files are data to import again."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a cell a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def spreadsheet_cell(value: Any) -> Any:
    """Text made safe; numbers, dates as text and empty cells as they are."""
    return spreadsheet_safe(value) if isinstance(value, str) else value
