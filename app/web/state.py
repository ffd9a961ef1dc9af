"""What the web handlers share in one server process: settings, the opened agent runtime and
the login throttle and the API tokens' rate limits (set by the FastAPI lifespan in
``app.web.server`` before the first request)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from app.config import Settings
from app.dashboards.tiles import Tiles
from app.turn.runtime import AgentRuntime
from app.voice.transcription import Transcriber, transcriber_for
from app.web.api_limits import TokenLimits
from app.web.throttle import LoginThrottle, throttled_login
from db.users import LoginUser


@dataclass
class WebState:
    settings: Settings
    runtime: AgentRuntime
    throttle: LoginThrottle = field(init=False)
    api_limits: TokenLimits = field(init=False)  # per API token, in this process
    tiles: Tiles = field(init=False)  # dashboards' tiles, through the guard
    transcriber: Transcriber | None = field(init=False)  # voice questions (None: none)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle.from_settings(self.settings)
        self.api_limits = TokenLimits.from_settings(self.settings)
        self.transcriber = transcriber_for(self.settings)
        self.tiles = Tiles(
            self.runtime.engine, self.runtime.agent.services, ttl_s=self.settings.tile_cache_ttl_s
        )

    async def log_in(self, request: Request, *, username: str, password: str) -> LoginUser | None:
        """``throttled_login`` (chat and admin alike) with this process's throttle, database
        and wait for it; ``username`` is taken without surrounding spaces."""
        return await throttled_login(
            request,
            self.throttle,
            self.runtime.engine,
            username=username.strip(),
            password=password,
            retry_s=self.settings.database_retry_s,
        )


_state: WebState | None = None


def set_state(state: WebState | None) -> None:
    global _state
    _state = state


def voice_on() -> bool:
    """Whether this process takes voice questions (speech to text configured)."""
    return _state is not None and _state.transcriber is not None


def get_state() -> WebState:
    if _state is None:
        raise RuntimeError("the web app is not started (app.web.server.create_app lifespan)")
    return _state
