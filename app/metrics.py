"""What a bichat process counts, for Prometheus (served at ``/metrics`` by
``app.web.metrics_endpoint``). One registry per process; each instance is scraped on its own.

In the core layer (anything may record here). Recorded where things end: turns
(``app.turn.metering``), SQL executions and guard rejections
(``app.audit.record_sql``, the one place every execution is logged). Pool use and replica lag
are read when Prometheus scrapes (``app.web.metrics_endpoint``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120)

TURNS = Counter(
    "bichat_turns",
    "Turns (one question and its answer) that ended, by channel, who answered and how it "
    "ended (answered, cut_short, failed, interrupted).",
    ["channel", "path", "outcome"],
    registry=REGISTRY,
)
TURNS_RUNNING = Gauge("bichat_turns_running", "Turns being answered now.", registry=REGISTRY)
TURNS_REFUSED = Counter(
    "bichat_turns_refused",
    "Questions refused before they were stored, by reason (draining: the process is stopping).",
    ["reason"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "bichat_turn_seconds",
    "Time from the question to the turn's end.",
    ["path"],
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
FIRST_TOKEN_SECONDS = Histogram(
    "bichat_first_token_seconds",
    "Time from the question to the first streamed token of the answer.",
    ["path"],
    buckets=LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
MODEL_CALLS = Counter("bichat_model_calls", "Model calls, by model.", ["model"], registry=REGISTRY)
MODEL_TOKENS = Counter(
    "bichat_model_tokens",
    "Model tokens, by model and kind (input, output, cached_input).",
    ["model", "kind"],
    registry=REGISTRY,
)
MODEL_COST = Counter(
    "bichat_model_cost_usd",
    "Cost of model calls in US dollars (calls of models without a price add nothing).",
    ["model"],
    registry=REGISTRY,
)
MODEL_UNPRICED = Counter(
    "bichat_model_unpriced_turns",
    "Turns with at least one model call whose price is unknown.",
    ["model"],
    registry=REGISTRY,
)
TOOL_CALLS = Counter(
    "bichat_tool_calls",
    "Tool calls, by tool and outcome (ok, error).",
    ["tool", "outcome"],
    registry=REGISTRY,
)
SQL_EXECUTIONS = Counter(
    "bichat_sql_executions",
    "SQL the SQL tool was given, by verdict (ok, rejected by the guard, failed in the database).",
    ["verdict"],
    registry=REGISTRY,
)
GUARD_REJECTIONS = Counter(
    "bichat_guard_rejections",
    "SQL refused by the guard, by the rule it broke (the error's code).",
    ["code"],
    registry=REGISTRY,
)
DRAINING = Gauge(
    "bichat_draining", "1 while the process drains (SIGTERM): no new turns.", registry=REGISTRY
)


def sql_executed(verdict: str, *, error_code: str | None = None) -> None:
    SQL_EXECUTIONS.labels(verdict).inc()
    if verdict == "rejected":
        GUARD_REJECTIONS.labels(error_code or "unknown").inc()
