"""The database briefly away (a restart, an outage, a full connection table): which errors say
so, and how an operation waits for it to come back (retries with backoff, bounded in time).

A restart shows itself in many shapes: SQLAlchemy's ``DBAPIError`` over asyncpg's "the database
system is shutting down" (57P01), "is starting up" (57P03) or "connection was closed in the
middle of operation", a bare ``FileNotFoundError`` while the server's socket is gone, a refused
TCP connection. ``is_unavailable`` recognises them all; none of their text is meant for a user:
``DatabaseUnavailable`` carries the words for that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
from sqlalchemy.exc import DBAPIError

from db.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

FIRST_PAUSE_S = 0.05  # the first retry comes quickly (a restart takes a fraction of a second)
MAX_PAUSE_S = 1.0
# SQLSTATE classes and codes that mean "the server is not there for us right now"
UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
CLOSED_WORDS = ("connection is closed", "connection was closed")
UNAVAILABLE = (
    "the database does not answer (it may be restarting); nothing was changed by this attempt"
)


# what a request may fail with when the database is away (the web app's 503 handlers)
FAILURES_WHEN_AWAY: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    DBAPIError,
    asyncpg.PostgresError,
    OSError,
)


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's ``orig``) and what caused it, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        found = pending.pop()
        if found is None or id(found) in seen:
            continue
        seen.add(id(found))
        yield found
        orig = getattr(found, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending.append(found.__cause__)
        if not found.__suppress_context__:  # ``raise ... from None``: the context is no cause
            pending.append(found.__context__)


def says_unavailable(error: BaseException) -> bool:
    if isinstance(error, DatabaseUnavailable | ConnectionError | FileNotFoundError | TimeoutError):
        return True
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError):
        return True
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str) and state.startswith(UNAVAILABLE_STATES):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        return any(words in str(error) for words in CLOSED_WORDS)
    return bool(getattr(error, "connection_invalidated", False))


def is_unavailable(error: BaseException) -> bool:
    """True when the error, or one it wraps, says the database cannot be reached right now."""
    return any(says_unavailable(found) for found in causes(error))


class Attempt:
    """One try of an operation (``with attempt:`` around it): an error that says the database
    is away is kept for ``retries`` to decide on; any other error passes."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> bool:
        if isinstance(error, Exception) and is_unavailable(error):
            self.error = error
            return True
        return False


async def retries(*, budget_s: float, what: str = "the database") -> AsyncIterator[Attempt]:
    """Attempts at an operation while the database is away, for ``budget_s`` seconds::

        async for attempt in retries(budget_s=10, what="storing the question"):
            with attempt:
                message_id = await add_message(...)

    After a failed attempt comes a pause (50 ms, doubling up to 1 s) and the next one; when the
    time is up, ``DatabaseUnavailable`` (the words for a user; the driver's error is its
    cause). Other errors pass through at once. The operation must be safe to repeat (a read,
    or a write that checks whether an earlier attempt was stored). A loop, not a callback, so
    the caller's code stays in the caller's frame."""
    deadline = time.monotonic() + budget_s
    pause = FIRST_PAUSE_S
    number = 1
    while True:
        attempt = Attempt()
        yield attempt
        if attempt.error is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise DatabaseUnavailable(f"{what}: {UNAVAILABLE}") from attempt.error
        log.info("%s: attempt %d failed (%s); retrying", what, number, type(attempt.error).__name__)
        await asyncio.sleep(min(pause, left))
        pause, number = min(pause * 2, MAX_PAUSE_S), number + 1
