"""One turn (a question and its answer): what the tools and middleware of the agent share
while it runs (``TurnContext``, passed as the graph's runtime context) and what it did."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.agent.charts import Chart
from app.agent.verified import Match
from app.errors import InvalidInput
from app.store.conversations import Message
from app.tools.sql import SqlResult
from db.tenants import TenantRecord


@dataclass
class ToolCallRecord:
    id: str
    name: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Usage:
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_usd: Decimal | None = Decimal(0)
    model: str | None = None

    def add(self, message: Message) -> None:
        self.model_calls += 1
        self.input_tokens += message.input_tokens or 0
        self.output_tokens += message.output_tokens or 0
        self.cached_input_tokens += message.cached_input_tokens or 0
        self.model = message.model or self.model
        known = self.cost_usd is not None and message.cost_usd is not None
        self.cost_usd = self.cost_usd + message.cost_usd if known else None  # type: ignore[operator]

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["cost_usd"] = None if self.cost_usd is None else float(self.cost_usd)
        return data


@dataclass
class TurnLog:
    """What a turn did, for the caller (the store has the same, row by row)."""

    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    tool_errors: int = 0
    last_message_id: int | None = None


@dataclass
class TurnState:
    results: dict[str, SqlResult] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)

    def add_result(self, result: SqlResult) -> str:
        result_id = f"r{len(self.results) + 1}"
        self.results[result_id] = result
        return result_id

    def result_for(self, result_id: str | None) -> SqlResult:
        if not self.results:
            raise InvalidInput(
                "no run_sql result in this turn yet: run the query first", code="invalid_chart"
            )
        key = result_id or list(self.results)[-1]
        if key not in self.results:
            raise InvalidInput(
                f"no result {key!r} in this turn; results are {', '.join(self.results)}",
                code="invalid_chart",
            )
        return self.results[key]


@dataclass
class TurnContext:
    """Everything that differs between turns; the compiled agent itself is shared."""

    tenant: TenantRecord
    session_id: uuid.UUID
    question: str
    system_prompt: str
    matches: list[Match]
    max_tool_errors: int
    state: TurnState = field(default_factory=TurnState)
    log: TurnLog = field(default_factory=TurnLog)


CURRENT_TURN: ContextVar[TurnContext | None] = ContextVar("bichat_current_turn", default=None)
"""The running turn, for the offline model (chat models do not see the runtime context)."""
