"""What the agent's middleware and tools share while one question runs (the graph's runtime
context; the compiled graph itself is shared by all questions)."""

from __future__ import annotations

from dataclasses import dataclass

from app.store.verified import Match
from app.tools.tool import ToolContext


@dataclass
class AgentTurn:
    system_prompt: str
    matches: list[Match]  # closest verified questions (the prompt's examples)
    max_tool_errors: int
    tools: ToolContext
    tool_errors: int = 0
    deadline: float | None = None  # time.monotonic() by which the turn must end
    time_limit_s: float = 0.0  # the turn's whole time (for the words when it is up)
    model_timeout_s: float = 60.0  # one attempt at a model call
    model_attempts: int = 1  # attempts at one model call (the first and its retries)
