"""What the web handlers share in one server process: settings and the opened agent runtime
(set by the FastAPI lifespan in ``app.web.server`` before the first request)."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.turn.runtime import AgentRuntime


@dataclass
class WebState:
    settings: Settings
    runtime: AgentRuntime


_state: WebState | None = None


def set_state(state: WebState | None) -> None:
    global _state
    _state = state


def get_state() -> WebState:
    if _state is None:
        raise RuntimeError("the web app is not started (app.web.server.create_app lifespan)")
    return _state
