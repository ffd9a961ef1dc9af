"""What an answerer reports while it answers, in order. The turn stores some of them
(``ModelCalled``, ``ToolFinished``), passes some on to the channel (``Token``, ``ToolStarted``,
``ToolFinished``, ``ChartShown``, ``OptionsOffered``, ``StillWorking``) and ends the turn on the
last (``AnswerReady``, ``AnswerWritten``, ``AnswerCutShort`` or ``AnswerFailed``). Answerers
never write the store themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.tools.charts import Chart
from app.tools.tool import ToolCallRecord


class Event:
    """Every event names itself for the wire (JSON, server-sent events): ``ToolStarted`` is
    ``tool_started``."""

    @property
    def type(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()


@dataclass(frozen=True)
class Token(Event):
    """A piece of the answer's text, as the model streams it."""

    text: str


@dataclass(frozen=True)
class ToolStarted(Event):
    call_id: str
    tool: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished(Event):
    call: ToolCallRecord


@dataclass(frozen=True)
class ChartShown(Event):
    chart: Chart


@dataclass(frozen=True)
class StillWorking(Event):
    """Nothing to show yet, but the turn goes on: ``what`` is being waited for (the model),
    on which attempt of how many (a retry starts a new one), and for how long so far."""

    what: str
    attempt: int
    attempts: int
    waited_s: float


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
class ModelCalled(Event):
    call: ModelCall


@dataclass(frozen=True)
class AnswerReady(Event):
    """The answer: the text of the last model call (already reported as ``ModelCalled``)."""

    text: str


@dataclass(frozen=True)
class AnswerWritten(Event):
    """An answer composed without a language model (the question engine): the turn stores it
    as the assistant's message, with no model, tokens or cost."""

    text: str


@dataclass(frozen=True)
class OptionsOffered(Event):
    """Questions the owner may pick instead of typing (a clarification's options)."""

    options: list[str]


@dataclass(frozen=True)
class AnswerCutShort(Event):
    """No answer within the turn's limits: ``text`` says so to the owner, ``reason`` is the
    stored error (``turn_limit``)."""

    text: str
    reason: str


@dataclass(frozen=True)
class AnswerFailed(Event):
    """The model provider failed (after its retries); ``error`` is the message to show."""

    error: str
    model: str | None = None
    latency_ms: int | None = None


AnswerEvent = (
    Token
    | ToolStarted
    | ToolFinished
    | ChartShown
    | StillWorking
    | ModelCalled
    | OptionsOffered
    | AnswerReady
    | AnswerWritten
    | AnswerCutShort
    | AnswerFailed
)
