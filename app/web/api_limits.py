"""Rate limits per API token (REST API and MCP over HTTP), with ``limits``' moving windows.

Every request with a token counts against ``BICHAT_API_RATE_LIMIT`` (default 120 a minute and
3,000 an hour); a question to the agent (``POST /ask``, the MCP tool ``ask``), which costs
model tokens, also counts against ``BICHAT_API_ASK_RATE_LIMIT`` (default 10 a minute and 300 a
day). A spent window refuses the request before it does anything: 429 with ``Retry-After``
(seconds until the window has room again), or an MCP tool error saying the same.

The counters live in memory, per server process (``MemoryStorage``): with several processes
each counts on its own, so a token gets that many times its limit. ``limits`` also speaks
Redis and memcached; moving the counters there is the multi-instance work's. MCP over stdio
runs as a local user's own process and is not limited.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from app.config import Settings
from app.errors import BichatError

Kind = Literal["request", "ask"]


class RateLimited(BichatError):
    """A token's window is spent: try again after ``retry_after_s``."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TokenLimits:
    """The windows of every token, in this process."""

    def __init__(self, *, requests: str, asks: str) -> None:
        self.windows: dict[Kind, list[RateLimitItem]] = {
            "request": parse_many(requests),
            "ask": parse_many(asks),
        }
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenLimits:
        return cls(requests=settings.api_rate_limit, asks=settings.api_ask_rate_limit)

    async def hit(self, token_id: int, kind: Kind = "request") -> None:
        """Count one request of the token; ``RateLimited`` when one of its windows is spent
        (nothing is counted then)."""
        for item in self.windows[kind]:
            if not await self.limiter.test(item, kind, str(token_id)):
                stats = await self.limiter.get_window_stats(item, kind, str(token_id))
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(
                    f"this token's limit of {rate_text(item, kind)} is reached: try again in "
                    f"{wait} s",
                    retry_after_s=wait,
                )
        for item in self.windows[kind]:
            await self.limiter.hit(item, kind, str(token_id))


def rate_text(item: RateLimitItem, kind: Kind) -> str:
    """``10 questions a minute``, ``3000 requests per 2 hours``."""
    noun = "questions" if kind == "ask" else "requests"
    unit = item.GRANULARITY.name
    if item.multiples == 1:
        return f"{item.amount} {noun} a {unit}"
    return f"{item.amount} {noun} per {item.multiples} {unit}s"
