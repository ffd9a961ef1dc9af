"""What an answerer reports while it answers, in order. The turn stores some of them
(``ModelCalled``, ``ToolFinished``), passes some on to the channel (``Token``, ``ToolStarted``,
``ToolFinished``, ``ChartShown``) and ends the turn on the last (``AnswerReady``,
``AnswerCutShort`` or ``AnswerFailed``). Answerers never write the store themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from app.tools.charts import Chart
from app.tools.tool import ToolCallRecord


@dataclass(frozen=True)
class Token:
    """A piece of the answer's text, as the model streams it."""

    text: str
    type: ClassVar[str] = "token"


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    tool: str
    input: dict[str, Any]
    type: ClassVar[str] = "tool_started"


@dataclass(frozen=True)
class ToolFinished:
    call: ToolCallRecord
    type: ClassVar[str] = "tool_finished"


@dataclass(frozen=True)
class ChartShown:
    chart: Chart
    type: ClassVar[str] = "chart"


@dataclass(frozen=True)
class ModelCall:
    """One finished model call: who answered, what it said or asked for, tokens, cost, time.
    ``cost_usd`` None: the model has no price (never 0 for "unknown")."""

    model: str
    content: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cost_usd: Decimal | None = None
    latency_ms: int | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ModelCalled:
    call: ModelCall
    type: ClassVar[str] = "model_called"


@dataclass(frozen=True)
class AnswerReady:
    """The answer: the text of the last model call (already reported as ``ModelCalled``)."""

    text: str
    type: ClassVar[str] = "answer_ready"


@dataclass(frozen=True)
class AnswerCutShort:
    """No answer within the turn's limits: ``text`` says so to the owner, ``reason`` is the
    stored error (``turn_limit``)."""

    text: str
    reason: str
    type: ClassVar[str] = "answer_cut_short"


@dataclass(frozen=True)
class AnswerFailed:
    """The model provider failed (after its retries); ``error`` is the message to show."""

    error: str
    model: str | None = None
    latency_ms: int | None = None
    type: ClassVar[str] = "answer_failed"


AnswerEvent = (
    Token
    | ToolStarted
    | ToolFinished
    | ChartShown
    | ModelCalled
    | AnswerReady
    | AnswerCutShort
    | AnswerFailed
)
