"""Verified queries as a regression suite: each ``prompts/examples.yaml`` query's result on
the deterministic demo data, as a digest (``tests/evals/snapshots/examples.json``).

Relative periods would move with the clock, so the queries run against a frozen clock:
``now()``, ``current_timestamp``, ``current_date`` and friends are replaced by the snapshot's
fixed instant before they run."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from app.evals.scoring import Table, row_key

CLOCK_FUNCTIONS = re.compile(
    r"\b(?:now\s*\(\s*\)|current_timestamp(?:\s*\(\s*\))?|transaction_timestamp\s*\(\s*\)"
    r"|statement_timestamp\s*\(\s*\)|clock_timestamp\s*\(\s*\)|localtimestamp)",
    re.IGNORECASE,
)
CURRENT_DATE = re.compile(r"\bcurrent_date\b", re.IGNORECASE)
FLOAT_DIGITS = 10  # significant digits of floats in the digest (sums of doubles may wobble)


def freeze_clock(*, sql: str, now: datetime) -> str:
    """``sql`` with the clock functions replaced by ``now`` (an aware datetime)."""
    instant = f"(TIMESTAMPTZ '{now.isoformat()}')"
    sql = CLOCK_FUNCTIONS.sub(instant, sql)
    return CURRENT_DATE.sub(f"({instant}::date)", sql)


def canonical(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def result_digest(*, table: Table) -> dict[str, Any]:
    """Row count, columns and a SHA-256 of the sorted rows."""
    rows = sorted((canonical(list(r)) for r in table.rows), key=row_key)
    encoded = json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str)
    return {
        "columns": list(table.columns),
        "rows": len(rows),
        "sha256": hashlib.sha256(encoded.encode()).hexdigest(),
    }
