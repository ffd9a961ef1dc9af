"""Logins, chat and admin alike: attempts limited per client address and per username, and
passwords checked off the event loop.

Every attempt counts against two moving windows (``limits``): one for the address it comes
from (``BICHAT_LOGIN_LIMIT_PER_IP``, default 30 a minute and 200 an hour) and one for the
username it names (``BICHAT_LOGIN_LIMIT_PER_USERNAME``, default 10 in 10 minutes); a spent
window refuses the attempt before any password is hashed (429 with ``Retry-After``). A
successful login clears its username's window (not its address's). The address is the TCP
peer's, or the ``X-Forwarded-For`` of a trusted proxy (``BICHAT_TRUSTED_PROXIES``; uvicorn
rewrites it), so behind a proxy that is not trusted every user shares the proxy's window.

The counters live in memory, per process: with several server processes each keeps its
own (an attacker gets that many times the attempts). Moving them to a shared storage
(``limits`` speaks Redis and memcached) is the multi-instance work's.

Passwords are checked by ``db.users.authenticate`` in a pool of two worker threads, so a
burst of logins queues there instead of stopping every other request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from db.availability import retries
from db.users import LoginUser, authenticate


class TooManyLogins(Exception):
    """A login window is spent: try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many login attempts: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass
class LoginThrottle:
    per_ip: list[RateLimitItem]
    per_username: list[RateLimitItem]

    def __post_init__(self) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            parse_many(settings.login_limit_per_ip), parse_many(settings.login_limit_per_username)
        )

    def windows(self, address: str, username: str) -> list[tuple[RateLimitItem, str, str]]:
        named = username.strip().casefold()
        return [(item, "login-ip", address) for item in self.per_ip] + [
            (item, "login-user", named) for item in self.per_username
        ]

    async def attempt(self, address: str, username: str) -> None:
        """Count one attempt; ``TooManyLogins`` when one of its windows is spent."""
        for item, kind, key in self.windows(address, username):
            if not await self.limiter.hit(item, kind, key):
                stats = await self.limiter.get_window_stats(item, kind, key)
                raise TooManyLogins(max(1, math.ceil(stats.reset_time - time.time())))

    async def succeeded(self, username: str) -> None:
        for item, kind, key in self.windows("", username):
            if kind == "login-user":
                await self.limiter.clear(item, kind, key)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def throttled_login(
    request: Request,
    throttle: LoginThrottle,
    engine: AsyncEngine,
    *,
    username: str,
    password: str,
    retry_s: float = 0.0,
) -> LoginUser | None:
    """The user if the password is right; None if not; ``TooManyLogins`` before checking
    anything when this address or username has tried too often. The database is waited for
    up to ``retry_s`` (a restart); ``DatabaseUnavailable`` when it stays away (the caller says
    "unavailable", 503, never "wrong password")."""
    await throttle.attempt(client_address(request), username)
    async for attempt in retries(budget_s=retry_s, what="checking a login"):
        with attempt:
            user = await authenticate(engine, username=username, password=password)
    if user is not None:
        await throttle.succeeded(username)
    return user
