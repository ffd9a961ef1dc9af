"""Chat (resumed threads) and admin show a query_metrics call's interpretation with its SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from app.tools import registry
from app.web.data_layer import message_step

OUTPUT = {
    "result_id": "r1",
    "columns": ["channel", "revenue"],
    "row_count": 4,
    "truncated": False,
    "elapsed_ms": 3.1,
    "sql": "WITH m1 AS (SELECT o.channel AS channel ...) SELECT ...",
    "interpretation": "Revenue by channel · 1–31 Oct 2026 · paid, shipped or delivered orders",
}
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def test_a_resumed_step_shows_the_compiled_sql_and_the_interpretation():
    row = SimpleNamespace(
        id=7, role="tool", tool_name="query_metrics", tool_input={"metrics": ["revenue"]},
        tool_output=OUTPUT, error=None, content=None, created_at=NOW, latency_ms=9,
    )  # fmt: skip
    step = message_step(row, "thread", "ann")
    assert step is not None and step["language"] == "sql" and step["input"] == OUTPUT["sql"]
    assert step["output"].startswith(OUTPUT["interpretation"] + "\n4 row(s)")


def test_the_admin_transcript_has_the_sql_and_the_interpretation():
    shown = registry.shown_input(registry.QUERY_METRICS, {"metrics": ["revenue"]}, OUTPUT)
    assert (shown.language, shown.text) == ("sql", OUTPUT["sql"])
    facts = registry.facts(registry.QUERY_METRICS, OUTPUT)
    assert facts.heading == ["4 rows", "SQL 3.1 ms"]
    assert facts.lines[0] == OUTPUT["interpretation"]
    ran = registry.shown_input(registry.RUN_SQL, {"sql": "SELECT 1"}, None)
    assert (ran.language, ran.text) == ("sql", "SELECT 1")
    assert registry.facts(registry.RUN_SQL, OUTPUT).lines[0].startswith("columns:")
