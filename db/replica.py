"""Whether tenant reads may go to the read replica (``BICHAT_READER_DATABASE_URL``) right now.

A hot standby streams the primary's WAL and replays it, so its data can be behind. The router
decides per query:

- **Fresh enough?** At most every ``LAG_CHECK_S`` a query that got a replica connection first
  measures the lag on it: caught up (it has replayed, at once or ``SETTLE_S`` later, all the
  WAL it received, and that is within ``WAL_SLACK_BYTES`` of what the primary had flushed just
  before, so a standby cut off from its primary is not taken for a fresh one) is 0 ms;
  otherwise the time since the last transaction it replayed was committed, an upper bound of
  how old its data is. Over
  ``BICHAT_REPLICA_MAX_LAG_MS``, reads go to the primary until a later check finds it caught up.
- **There?** A replica that refuses a connection or loses one mid-query is left alone for
  ``DOWN_RETRY_S``; the query that found out runs again on the primary (reads are safe to
  repeat), so a standby that goes down costs no answer.

The reader's login, row-level security and limits are the same on both servers: roles, grants,
policies and role settings are part of the replicated catalog.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)

LAG_CHECK_S = 1.0  # the lag is measured at most this often
DOWN_RETRY_S = 5.0  # a replica that failed is tried again after this long
# On the replica, as the tenant's reader (these functions are executable by PUBLIC). Caught up:
# it replayed what it received, but for less than a WAL page while replay is not paused (the
# primary flushes whole pages of a record still being written; the standby cannot replay a
# record's first part and waits for the rest), and it is not far behind the primary.
LAG_SQL = """SELECT pg_is_in_recovery() AS standby,
  coalesce((pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn()
            OR (pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) < $3
                AND NOT pg_is_wal_replay_paused()))
           AND pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()) <= $2, true) AS caught_up,
  pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()) AS behind_bytes,
  extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000 AS since_ms"""
WAL_PAGE_BYTES = 8192
# flushed WAL: what a standby can have received (the write position runs ahead of it)
PRIMARY_LSN_SQL = "SELECT pg_current_wal_flush_lsn()::text"
# WAL the primary flushed without a commit (autovacuum, hint records) may reach the standby
# only at the walsender's next wake-up; a receiver this far behind the primary is cut off.
WAL_SLACK_BYTES = 1024 * 1024
SETTLE_S = 0.05  # WAL received just before the check may still be replaying: one more look
# SQLSTATEs after which the same read may succeed on the primary: the standby cancelled it
# to replay WAL (conflict with recovery), or is shutting down or starting.
REPLICA_RETRY_STATES = ("40001", "57P01", "57P02", "57P03", "08")


@dataclass(frozen=True)
class ReplicaStatus:
    """What an operator sees: is the replica used, how far behind was it last measured."""

    configured: bool
    up: bool
    lag_ms: float | None
    serving: bool  # reads go there now
    reason: str


def lost_replica(error: BaseException) -> bool:
    """True when a read that failed on the replica may be run again on the primary."""
    if isinstance(error, OSError | TimeoutError | asyncpg.InterfaceError):
        return True
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and state.startswith(REPLICA_RETRY_STATES)


class ReplicaRouter:
    """Health and freshness of the replica, as this process last saw them."""

    def __init__(
        self,
        *,
        max_lag_ms: int,
        primary_lsn: Callable[[], Awaitable[str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_lag_ms = max_lag_ms
        self.primary_lsn, self.clock = primary_lsn, clock
        self.down_until = float("-inf")
        self.lag_ms: float | None = None  # last measured
        self.checked_at = float("-inf")
        self.checking = False
        self.reason = "not measured yet"
        self.served = {"replica": 0, "primary": 0}  # reads by where they ran

    @property
    def up(self) -> bool:
        return self.clock() >= self.down_until

    def usable(self) -> bool:
        """Worth trying now: not down, and not found too far behind by a recent check."""
        if not self.up:
            return False
        return self.needs_check() or self.fresh()

    def fresh(self) -> bool:
        return self.lag_ms is not None and self.lag_ms <= self.max_lag_ms

    def needs_check(self) -> bool:
        """A measurement is due (the first caller measures; others use the last verdict)."""
        stale = self.clock() - self.checked_at >= LAG_CHECK_S
        return stale and (not self.checking or self.lag_ms is None)

    async def check(self, connection: asyncpg.Connection) -> bool:
        """Measure the lag on a replica connection; True when it is fresh enough."""
        self.checking = True
        try:
            position = await self.primary_lsn()
            row = await connection.fetchrow(LAG_SQL, position, WAL_SLACK_BYTES, WAL_PAGE_BYTES)
            if row is not None and row["standby"] and not row["caught_up"]:
                await asyncio.sleep(SETTLE_S)
                row = await connection.fetchrow(LAG_SQL, position, WAL_SLACK_BYTES, WAL_PAGE_BYTES)
        finally:
            self.checking = False
        self.checked_at = self.clock()
        if row is None or not row["standby"] or row["caught_up"]:
            self.lag_ms = 0.0
        else:
            since = row["since_ms"]
            self.lag_ms = float("inf") if since is None else max(float(since), 0.0)
        self.reason = f"replay lag {self.describe_lag()} (limit {self.max_lag_ms} ms)"
        if row is not None and row["behind_bytes"]:
            self.reason += f", {row['behind_bytes']} bytes of WAL behind"
        if not self.fresh():
            log.warning("read replica is behind: %s; reading from the primary", self.reason)
        return self.fresh()

    def describe_lag(self) -> str:
        if self.lag_ms is None:
            return "not measured"
        return "unknown" if self.lag_ms == float("inf") else f"{self.lag_ms:.0f} ms"

    def mark_down(self, error: BaseException) -> None:
        self.down_until = self.clock() + DOWN_RETRY_S
        self.reason = f"unreachable ({type(error).__name__}: {error})"[:300]
        log.warning("read replica failed: %s; reading from the primary", self.reason)

    def status(self) -> ReplicaStatus:
        serving = self.up and self.fresh()
        reason = self.reason if self.up else f"down: {self.reason}"
        return ReplicaStatus(True, self.up, self.lag_ms, serving, reason)
