"""Days given as command options (``--from``, ``--to``, ``--end-date``): YYYY-MM-DD."""

from __future__ import annotations

from datetime import date

from app.errors import InvalidInput


def parse_day(value: str | None, option: str) -> date | None:
    """The day ``option`` names; None when it is not given."""
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        message = f"invalid {option} {value!r}: use YYYY-MM-DD"
        raise InvalidInput(message, code="invalid_date") from None
