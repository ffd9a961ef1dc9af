"""The audit trail of executed SQL: one structured log line per execution, accepted or not,
and its count in ``/metrics`` (verdicts, guard rejections by code).

(When the conversation store exists, these records go there too.)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app import metrics

audit_log = logging.getLogger("bichat.audit")


def record_sql(
    *,
    tenant: str,
    context: str,
    sql: str,
    verdict: str,
    rows: int | None = None,
    elapsed_ms: float | None = None,
    error: dict[str, Any] | None = None,
    server: str | None = None,
) -> dict[str, Any]:
    """Log one execution (``verdict``: ok, rejected or failed) and return the record."""
    record = {
        "event": "sql",
        "tenant": tenant,
        "context": context,
        "verdict": verdict,
        "sql": sql,
        "rows": rows,
        "elapsed_ms": None if elapsed_ms is None else round(elapsed_ms, 2),
        "error": error,
    }
    if server is not None:  # which server answered: "primary" or "replica"
        record["server"] = server
    audit_log.info(json.dumps(record, ensure_ascii=False, default=str))
    metrics.sql_executed(verdict, error_code=(error or {}).get("code"))
    return record
