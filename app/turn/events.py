"""The typed events of a turn, as channels receive them, in order: ``Token`` (answer text as it
streams), ``ToolStarted`` and ``ToolFinished`` (each call), ``ChartShown``, ``StillWorking``
(waiting for the model: which attempt, how long so far), and last exactly one of ``Answered``
or ``Failed`` with the turn's result. ``type`` names each for the wire (``token``,
``tool_started``, ``tool_finished``, ``chart_shown``, ``still_working``, ``answered``,
``failed``)."""

from __future__ import annotations

from dataclasses import dataclass

from app.answering.events import (
    ChartShown,
    Event,
    StillWorking,
    Token,
    ToolFinished,
    ToolStarted,
)
from app.turn.result import TurnResult

__all__ = [
    "Answered",
    "ChartShown",
    "Failed",
    "StillWorking",
    "Token",
    "ToolFinished",
    "ToolStarted",
    "TurnEvent",
]


@dataclass(frozen=True)
class Answered(Event):
    """The turn ended with an answer (``result.error`` is ``turn_limit`` when it was cut short
    by its limits and says so)."""

    result: TurnResult


@dataclass(frozen=True)
class Failed(Event):
    """The turn ended without an answer: the model provider failed, or a bug of ours.
    ``result.answer`` says what happened in words for the owner; the error is stored."""

    result: TurnResult


TurnEvent = Token | ToolStarted | ToolFinished | ChartShown | StillWorking | Answered | Failed
