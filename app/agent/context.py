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
