"""Values written into SQL that bichat builds from a caller's filters (the REST API's product
list and bundle rules): strings as properly quoted PostgreSQL literals, numbers as plain
decimals. That SQL then runs through ``SqlExecutor`` like any other: the guard, the tenant's
reader role and the caps check it again."""

from __future__ import annotations

import math

from sqlglot import exp

from app.errors import InvalidInput


def text_literal(value: str) -> str:
    """A PostgreSQL string literal of ``value`` (quotes doubled, no escapes interpreted)."""
    if "\x00" in value:
        raise InvalidInput("text must not contain NUL characters", code="invalid_input")
    return exp.Literal.string(value).sql(dialect="postgres")


def number_literal(value: float) -> str:
    if not math.isfinite(value):
        raise InvalidInput(f"{value} is not a finite number", code="invalid_input")
    return repr(float(value))
