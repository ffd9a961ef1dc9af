"""What a turn did, for its caller: the answer, the calls, the usage and cost, the results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.store.conversations import Message
from app.tools import registry
from app.tools.charts import Chart
from app.tools.sql import SqlResult
from app.tools.tool import ToolCallRecord


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
    """What the turn's writer stored, as the caller sees it (the store has it row by row)."""

    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    last_message_id: int | None = None
    last_model_message_id: int | None = None  # the model's last reply (the answer, if any)


@dataclass
class TurnResult:
    session_id: uuid.UUID
    question: str
    answer: str
    offline: bool
    log: TurnLog
    charts: list[Chart] = field(default_factory=list)
    error: str | None = None
    message_id: int | None = None  # the stored answer (feedback goes there)
    results: dict[str, SqlResult] = field(default_factory=dict)  # tables of this turn by id
    suggestions: list[str] = field(default_factory=list)  # close verified questions
    path: str = "model"  # who answered: the question engine (``engine``) or the agent
    options: list[str] = field(default_factory=list)  # a clarification's choices

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        return self.log.tool_calls

    @property
    def sql(self) -> list[str]:
        """The SQL the turn's calls ran, in order (whichever tool wrote it)."""
        found = (registry.sql_of(c.name, c.input, c.output) for c in self.log.tool_calls)
        return [sql for sql in found if sql is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "question": self.question,
            "answer": self.answer,
            "offline": self.offline,
            "path": self.path,
            "options": self.options,
            "error": self.error,
            "message_id": self.message_id,
            "sql": self.sql,
            "tool_calls": [c.to_dict() for c in self.log.tool_calls],
            "charts": [{"id": c.id, "spec": c.spec.model_dump()} for c in self.charts],
            "usage": self.log.usage.to_dict(),
        }
