"""What the engine decided to do with a question: the answer kind, the tool call that answers
it (if any), and what it says to the owner about how it read the question."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ANSWERING = (
    "metrics",
    "search",
    "bundles",
    "verified",
    "explain",
    "forecast",
)  # kinds that run a tool


@dataclass
class Intent:
    kind: str  # metrics | search | bundles | verified | explain | forecast | clarify | decline | greet | help
    tool: str | None = None  # the registry name of the tool that answers
    arguments: dict[str, Any] = field(default_factory=dict)
    chart: str | None = None  # "auto", a chart kind, or None
    confident: bool = False  # sure enough to answer before (instead of) a language model
    text: str = ""  # what to say (clarifications, declines, greetings)
    options: list[str] = field(default_factory=list)  # clarification buttons: questions
    notes: list[str] = field(default_factory=list)  # how words were read ("reveune": revenue)
    reason: str = ""  # why (for the eval report and tests): a short code
    verified_question: str | None = None

    @property
    def answers(self) -> bool:
        return self.kind in ANSWERING


def clarify(text: str, options: list[str] | None = None, *, reason: str) -> Intent:
    return Intent(
        "clarify", text=text, options=list(dict.fromkeys(options or []))[:4], reason=reason
    )


def decline(
    text: str, *, reason: str, confident: bool = False, options: list[str] | None = None
) -> Intent:
    return Intent(
        "decline",
        text=text,
        reason=reason,
        confident=confident,
        options=list(dict.fromkeys(options or []))[:4],
    )
