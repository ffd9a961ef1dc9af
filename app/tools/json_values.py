"""Turning PostgreSQL values (as asyncpg returns them) into JSON-safe values."""

from __future__ import annotations

import base64
import json
import math
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

JsonValue = None | bool | int | float | str | list[Any] | dict[str, Any]


def json_value(value: Any) -> JsonValue:
    """A JSON-safe rendering of one value: numbers stay numbers, times become ISO 8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"PT{value.total_seconds():g}S"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)  # ranges, vectors, tsvectors, network types...


def _decimal(value: Decimal) -> JsonValue:
    """Whole numbers without a scale (counts, sums of integers) become ints, the rest floats."""
    if not value.is_finite():
        return str(value)
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def encoded_size(row: list[JsonValue]) -> int:
    return len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
