"""The SQL tool: run model-written SQL through the guard and a tenant's reader role.

Layers (each holds on its own; see README "Security model"):
1. ``app.sqlguard.check_sql``: one read-only query over the reader's tables.
2. The database: a pool per tenant logged in as that tenant's reader role (row-level security
   by ``session_user``, SELECT-only grants, no PII columns, revoked session functions), every
   run inside ``BEGIN READ ONLY`` (with ``SET LOCAL statement_timeout`` when it differs), the
   SQL wrapped as ``SELECT *, <row size check> FROM (<sql>) AS bichat_result`` so that only a
   query expression can execute, read through a cursor in chunks, and always rolled back.
3. The result: at most ``max_rows`` rows (one more is read to set ``truncated``), at most
   ``max_result_bytes`` of JSON, every value JSON-safe. The server refuses to send a row
   larger than ``max_result_bytes`` and the cursor stops at the caps: what is not needed is
   never fetched (nor computed). A call that outlives its timeout has its backend cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple, Protocol, cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit import record_sql
from app.config import Settings
from app.errors import BichatError, DatabaseUnavailable
from app.sqlguard import VALUE_CAPS, UnsafeSQLError, check_sql
from app.tools.json_values import JsonValue, encoded_size, json_value
from app.tools.reader_gate import FairGate, ShopBusy, Turn
from db.availability import retries
from db.models import BUSINESS_TABLES, PII_COLUMNS
from db.reader import (
    ReaderLogin,
    reader_connector,
    reader_login,
    reader_url,
    reset_reader,
)
from db.reader_pool import Acquisition, Connect, ConnectionBudget, ReaderPool, ReadersBusy
from db.replica import PRIMARY_LSN_SQL, ReplicaRouter, lost_replica
from db.urls import plain_url

log = logging.getLogger(__name__)

READER_TABLES = frozenset(BUSINESS_TABLES)
PRIVATE_COLUMNS = frozenset(c for columns in PII_COLUMNS.values() for c in columns)
# customers is read through the view without PII; everything else from public.
READER_SCHEMAS = {t: ("bi" if t in PII_COLUMNS else "public") for t in READER_TABLES}
CLIENT_GRACE_S = 0.5  # the client gives up this long after the server should have cancelled
PRIMARY, REPLICA = "primary", "replica"  # the servers a tenant's reads may go to
MIN_RUN_S = 0.1  # a query gets at least this long to run after waiting for a connection
MIN_RUN_MS = round(MIN_RUN_S * 1000)
CANCEL_WAIT_S = 0.5  # after a cancel, how long a backend has to stop before it is terminated
# The server checks every result row's size ($1 bytes at most) with the function from
# migration 0008 before it sends it; ``bichat_result.*`` is the whole row even when the query
# has a column named bichat_result. The check is the last column, dropped when reading.
WRAP_PREFIX = "SELECT *, public.bichat_row_within(pg_column_size(bichat_result.*), $1) FROM (\n"
WRAP_SUFFIX = "\n) AS bichat_result"
ROW_TOO_LARGE = "bichat: result row"  # how that function's error message starts
FETCH_ROWS = 32  # rows per round trip of the cursor: at most this many rows are unwanted
SIZE_CHUNK = 32  # rows sized with one JSON encoding (see RowCollector.add)
MAX_ERROR_CHARS = 1_000  # server messages can quote a whole value
PLAIN_TYPES = frozenset({str, int, bool, type(None)})  # JSON-safe as asyncpg returns them


class SqlExecutionError(BichatError):
    """The server refused or failed the query; carries what a model needs to fix it."""

    code = "sql_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        sqlstate: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.sqlstate, self.detail, self.hint, self.position = sqlstate, detail, hint, position

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        for name in ("sqlstate", "detail", "hint", "position"):
            if getattr(self, name) is not None:
                error[name] = getattr(self, name)
        return {"error": error}


class QueryTimeout(SqlExecutionError):
    code = "query_timeout"


class ResourceLimit(SqlExecutionError):
    code = "resource_limit"


class ReplicaLost(Exception):
    """A read failed because of the replica (gone, or it cancelled the read to replay WAL):
    run it again on the primary. Never leaves the executor."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class SqlResult:
    sql: str
    columns: list[str]
    rows: list[list[JsonValue]]
    row_count: int
    truncated: bool
    elapsed_ms: float
    truncated_by: str | None = None  # "rows" or "bytes"
    # which server answered ("primary" or "replica"); for the audit trail, not the result
    served_by: str = field(default="primary", compare=False, metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (not copied: ``asdict`` would copy every row and value)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.metadata}


def wrap(sql: str, *, limit: int) -> str:
    """The SQL as a subquery: anything but a query expression becomes a syntax error; the
    server stops after ``limit`` rows, and refuses rows over ``$1`` bytes."""
    return WRAP_PREFIX + sql.strip().rstrip(";").rstrip() + WRAP_SUFFIX + f" LIMIT {int(limit)}"


def shortened(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_ERROR_CHARS:
        return text
    return f"{text[:MAX_ERROR_CHARS]}... ({len(text) - MAX_ERROR_CHARS:,} more characters)"


def is_row_too_large(error: asyncpg.PostgresError) -> bool:
    message = str(getattr(error, "message", None) or "")
    return error.sqlstate == "54000" and message.startswith(ROW_TOO_LARGE)


def server_error(error: asyncpg.PostgresError, *, timeout_ms: int) -> SqlExecutionError:
    if isinstance(error, asyncpg.QueryCanceledError):
        return QueryTimeout(
            f"the query ran longer than {timeout_ms} ms and the server cancelled it: filter, "
            "aggregate or limit more, or avoid cross joins and unbounded recursion",
            sqlstate=error.sqlstate,
        )
    message = shortened(str(getattr(error, "message", None) or error)) or ""
    if error.sqlstate == "53400":  # configuration_limit_exceeded: temp_file_limit, work_mem...
        return ResourceLimit(
            f"the query needed more server resources than allowed ({message}): filter or "
            "aggregate earlier, and avoid huge series, sorts and cross joins",
            sqlstate=error.sqlstate,
        )
    if error.sqlstate == "54000":  # program_limit_exceeded: a value cap, a value too long
        return ResourceLimit(message, sqlstate=error.sqlstate, hint=getattr(error, "hint", None))
    position = getattr(error, "position", None)
    if position is not None:
        position = max(int(position) - len(WRAP_PREFIX), 1)
    code = type(error).__name__.removesuffix("Error")
    return SqlExecutionError(
        message,
        code=snake_case(code) or "sql_error",
        sqlstate=error.sqlstate,
        detail=shortened(getattr(error, "detail", None)),
        hint=shortened(getattr(error, "hint", None)),
        position=position,
    )


def unwrapped(sql: str) -> str:
    """The query a wrapped run was given, from the text the server saw (as
    ``pg_stat_statements`` shows it: the wrapper's and the query's constants as $n)."""
    if sql.startswith(WRAP_PREFIX) and WRAP_SUFFIX in sql:
        return sql[len(WRAP_PREFIX) : sql.rindex(WRAP_SUFFIX)]
    return sql


async def end_transaction(connection: asyncpg.Connection) -> None:
    """Roll back what a run left open (its cursor goes with it)."""
    if not connection.is_closed() and connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def end_transaction_quietly(connection: asyncpg.Connection) -> None:
    """``end_transaction``; a connection that cannot roll back is dropped (its pool sees it
    closed and frees its room)."""
    try:
        await end_transaction(connection)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        connection.terminate()


class Lease(NamedTuple):
    """A reader connection, the pool it goes back to, and how long it queued for it."""

    pool: ReaderPool
    connection: asyncpg.Connection
    waited_s: float


@dataclass(frozen=True)
class TimeLimits:
    """A call's statement timeout (what its errors cite) and what is left of it after the
    wait for its turn at the tenant's connections."""

    timeout_ms: int
    left_ms: int


def waited_at_most(timeout_ms: int) -> float:
    """How long (s) a call may wait for a connection: its timeout, less the least run time."""
    return max(timeout_ms / 1000 - MIN_RUN_S, 0.0)


def since_ms(started: float) -> int:
    """Whole milliseconds since ``started`` (a ``time.perf_counter()``)."""
    return round((time.perf_counter() - started) * 1000)


def snake_case(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True)
class ReaderPoolUse:
    pools: int
    connections: int
    in_use: int


class SqlExecutor:
    """Runs SQL for tenants. One instance per process; ``close()`` releases its pools.

    Each tenant has a pool per server (the read replica when ``BICHAT_READER_DATABASE_URL`` is
    set, and the primary), all within one budget of ``BICHAT_READER_MAX_CONNECTIONS``
    (``db.reader_pool``); ``db.replica`` decides which server a read goes to. In front of a
    tenant's pools, one fair gate (``app.tools.reader_gate``) decides whose call gets one of
    its ``pool_size`` connections next."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: Settings,
        owner_url: str,
        guard: bool = True,
        pool_size: int = 4,
        max_rows: int = 500,
        max_result_bytes: int = 1_000_000,
        budget: ConnectionBudget | None = None,
    ) -> None:
        self.engine, self.settings, self.owner_url = engine, settings, plain_url(owner_url)
        self.guard, self.pool_size = guard, pool_size
        self.max_rows, self.max_result_bytes = max_rows, max_result_bytes
        self._pools: dict[tuple[uuid.UUID, str], ReaderPool] = {}
        self._gates: dict[uuid.UUID, FairGate] = {}  # who gets a tenant's connection next
        self._lock = asyncio.Lock()
        self._releases: set[asyncio.Task[None]] = set()  # connections being reset
        self.budget = budget or ConnectionBudget(settings.reader_max_connections if settings else 0)
        self.replica: ReplicaRouter | None = None
        if settings is not None and settings.reader_database_url:
            self.replica = ReplicaRouter(
                max_lag_ms=settings.replica_max_lag_ms, primary_lsn=self.primary_lsn
            )

    async def close(self) -> None:
        await asyncio.gather(*self._releases, return_exceptions=True)
        pools, self._pools, self._gates = list(self._pools.values()), {}, {}
        await asyncio.gather(*(pool.close() for pool in pools))

    def pool_use(self) -> ReaderPoolUse:
        """Tenant pools open now (one per tenant and server) and their connections (for
        ``/metrics``)."""
        pools = list(self._pools.values())
        in_use = sum(pool.busy for pool in pools)
        return ReaderPoolUse(len(pools), in_use + sum(len(p.idle) for p in pools), in_use)

    async def pool(self, tenant_id: uuid.UUID, server: str = PRIMARY) -> ReaderPool:
        """The tenant's pool on ``server`` (``PRIMARY`` or ``REPLICA``)."""
        key = (tenant_id, server)
        if key not in self._pools:
            async with self._lock:
                if key not in self._pools:
                    self._pools[key] = await self.create_pool(tenant_id, server)
        return self._pools[key]

    def gate(self, tenant_id: uuid.UUID) -> FairGate:
        """Who of the tenant's requesters uses one of its ``pool_size`` connections next (one
        gate for both servers: a call holds one connection at a time, replica or primary)."""
        if tenant_id not in self._gates:
            heavy_s = self.settings.statement_timeout_ms / 2000  # half the timeout, in s
            self._gates[tenant_id] = FairGate(self.pool_size, heavy_s=heavy_s)
        return self._gates[tenant_id]

    async def create_pool(self, tenant_id: uuid.UUID, server: str = PRIMARY) -> ReaderPool:
        return ReaderPool(
            name=f"{tenant_id}:{server}",
            connect=await self.connector(tenant_id, server),
            reset=reset_reader,
            budget=self.budget,
            max_size=self.pool_size,
            wait_s=self.settings.statement_timeout_ms / 1000,
        )

    async def connector(self, tenant_id: uuid.UUID, server: str) -> Connect:
        """How a new connection of the tenant's reader role to ``server`` is made."""
        async with self.engine.connect() as connection:
            login: ReaderLogin = await reader_login(connection, tenant_id)
        url = reader_url(
            self.settings, owner_url=self.owner_url, login=login, replica=server == REPLICA
        )
        return reader_connector(url, self.settings)

    async def primary_lsn(self) -> str:
        async with self.engine.connect() as owner:
            return str(await owner.scalar(text(PRIMARY_LSN_SQL)))

    async def connection(
        self, tenant_id: uuid.UUID, *, wait_s: float | None = None, replica: bool = True
    ) -> Lease:
        """A reader connection for the tenant: on the replica when it is up and fresh enough
        (``db.replica``), else on the primary. Give it back with ``lease.pool.release``."""
        router = self.replica if replica else None
        waited_s = 0.0
        if router is not None and router.usable():
            pool = await self.pool(tenant_id, REPLICA)
            acquisition = pool.acquire(wait_s=wait_s)
            found = await self.replica_connection(router, pool, acquisition)
            if found is not None:
                router.served["replica"] += 1
                return Lease(pool, found, acquisition.waited_s)
            waited_s = acquisition.waited_s
        if router is not None:
            router.served["primary"] += 1
        pool = await self.pool(tenant_id, PRIMARY)
        acquisition = pool.acquire(wait_s=wait_s)
        connection = await acquisition
        return Lease(pool, connection, waited_s + acquisition.waited_s)

    async def replica_connection(
        self, router: ReplicaRouter, pool: ReaderPool, acquisition: Acquisition
    ) -> asyncpg.Connection | None:
        """A replica connection if it answers and is fresh enough; else None (use the primary)."""
        try:
            connection = await acquisition
        except ReadersBusy:
            raise
        except Exception as error:  # refused, timed out, unknown role yet...: the primary
            router.mark_down(error)
            return None
        if not router.needs_check():
            return connection
        try:
            fresh = await router.check(connection)
        except Exception as error:
            await pool.discard(connection)
            router.mark_down(error)
            return None
        if not fresh:
            await pool.release(connection)
            return None
        return connection

    @contextlib.asynccontextmanager
    async def reader(
        self, tenant_id: uuid.UUID, *, requester: str = "anyone", wait_s: float | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """``async with executor.reader(tenant) as connection``: the requester's turn at the
        tenant's gate (as ``execute`` waits for it, else ``ShopBusy``), then a routed
        connection, both given back after. A replica that fails during the block marks it
        down (the caller may try again)."""
        waited = self.settings.statement_timeout_ms / 1000 if wait_s is None else wait_s
        turn = await self.gate(tenant_id).turn(requester, wait_s=waited)
        try:
            pool, connection, _ = await self.connection(tenant_id, wait_s=wait_s)
            try:
                yield connection
            except Exception as error:
                if pool.name.endswith(REPLICA) and self.replica and lost_replica(error):
                    self.replica.mark_down(error)
                raise
            finally:
                await pool.release(connection)
        finally:
            turn.end()

    def checked(self, sql: str) -> str:
        if not self.guard:
            return sql
        return check_sql(
            sql,
            set(READER_TABLES),
            private_columns=PRIVATE_COLUMNS,
            table_schemas=READER_SCHEMAS,
            value_caps=VALUE_CAPS,
        )

    async def run(
        self,
        *,
        tenant_id: uuid.UUID,
        sql: str,
        max_rows: int | None = None,
        timeout_ms: int | None = None,
        context: str = "cli",
        requester: str | None = None,
    ) -> SqlResult:
        """Check and run ``sql`` for the tenant; every outcome is audited. ``requester`` (a
        user or a conversation; else ``context``) is whose share of the tenant's connections
        the run takes (``app.tools.reader_gate``): when they stay busy, ``ShopBusy``."""
        audit = functools.partial(record_sql, tenant=str(tenant_id), context=context, sql=sql)
        try:
            to_run = self.checked(sql)
        except UnsafeSQLError as error:
            audit(verdict="rejected", error=error.to_dict()["error"])
            raise
        budget_s = self.settings.database_retry_s  # a server restart: again, on a new connection
        try:
            async for attempt in retries(budget_s=budget_s, what="running the query"):
                with attempt:
                    result = await self.execute(
                        tenant_id,
                        to_run,
                        max_rows=max_rows or self.max_rows,
                        timeout_ms=timeout_ms or self.settings.statement_timeout_ms,
                        requester=requester or context,
                    )
        except (SqlExecutionError, ShopBusy, ReadersBusy, DatabaseUnavailable) as error:
            audit(verdict="failed", error=error.to_dict()["error"])
            raise
        audit(
            verdict="ok",
            rows=result.row_count,
            elapsed_ms=result.elapsed_ms,
            server=result.served_by,
        )
        return result

    async def execute(
        self,
        tenant_id: uuid.UUID,
        sql: str,
        *,
        max_rows: int,
        timeout_ms: int,
        requester: str = "anyone",
    ) -> SqlResult:
        """Wait for the requester's turn at one of the tenant's connections (fairly:
        ``app.tools.reader_gate``, else ``ShopBusy``), then take one from the tenant's pool
        within the process's budget (``db.reader_pool``, else ``ReadersBusy``) on the replica
        when it may serve, and run. A read the replica loses (it went down, or cancelled it to
        replay WAL) runs again on the primary, in the same turn (with the same time left).
        The waits count against ``timeout_ms``."""
        started = time.perf_counter()
        turn = await self.gate(tenant_id).turn(requester, wait_s=waited_at_most(timeout_ms))
        limits = TimeLimits(timeout_ms, max(timeout_ms - since_ms(started), MIN_RUN_MS))
        try:
            result = await self.execute_routed(tenant_id, sql, max_rows, limits, turn)
        finally:
            if not turn.handed_on:  # else ended once its connection is back
                turn.end()
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    async def execute_routed(
        self, tenant_id: uuid.UUID, sql: str, max_rows: int, limits: TimeLimits, turn: Turn
    ) -> SqlResult:
        """``execute_on`` the replica if it may serve; on the primary if the replica lost it."""
        run = functools.partial(
            self.execute_on, tenant_id, sql, max_rows=max_rows, limits=limits, turn=turn
        )
        try:
            return await run(replica=True)
        except ReplicaLost as lost:
            if self.replica is not None:
                self.replica.mark_down(lost.cause)
            return await run(replica=False)

    async def execute_on(
        self,
        tenant_id: uuid.UUID,
        sql: str,
        *,
        max_rows: int,
        limits: TimeLimits,
        replica: bool,
        turn: Turn,
    ) -> SqlResult:
        """Run on one connection of the tenant's pool; ``turn`` is handed on with it when it
        is given back in the background."""
        timeout_ms = limits.timeout_ms
        pool, connection, waited_s = await self.connection(
            tenant_id, wait_s=waited_at_most(limits.left_ms), replica=replica
        )
        left_ms = max(limits.left_ms - round(waited_s * 1000), MIN_RUN_MS)
        on_replica = pool.name.endswith(REPLICA)
        outcome = "failed"
        try:
            try:
                async with asyncio.timeout(left_ms / 1000 + CLIENT_GRACE_S):
                    result = await self.read(connection, sql, max_rows=max_rows, timeout_ms=left_ms)
            except TimeoutError:
                outcome = "ended"  # the connection is given back once its backend is gone
                turn.handed_on = True
                self.stop_backend(pool, connection, then=turn.end)
                raise QueryTimeout(
                    f"no answer within {timeout_ms} ms; the query was cancelled and its "
                    "session ended"
                ) from None
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as error:
                if on_replica and lost_replica(error):
                    raise ReplicaLost(error) from error
                if not isinstance(error, asyncpg.PostgresError):
                    raise
                raise server_error(error, timeout_ms=timeout_ms) from None
            outcome = "ok"
        finally:
            if outcome == "ok":
                turn.handed_on = True
                self.release_soon(pool, connection, then=turn.end)
            elif outcome == "failed":  # when run() fails, nothing of its own is left running
                await end_transaction_quietly(connection)
                await pool.release(connection)
        result.served_by = REPLICA if on_replica else PRIMARY
        return result

    def release_soon(
        self, pool: ReaderPool, connection: asyncpg.Connection, *, then: Callable[[], None]
    ) -> None:
        """Hand a connection back without making the caller wait for its rollback and reset
        (round trips to the server): it goes to the next caller (``then``) once they are done."""

        async def release() -> None:
            try:
                await end_transaction_quietly(connection)
                await pool.release(connection)
            finally:
                then()

        self.in_background(release())

    def stop_backend(
        self, pool: ReaderPool, connection: asyncpg.Connection, *, then: Callable[[], None]
    ) -> None:
        """A call that outlived its timeout: drop the session, and make sure its backend stops
        (asyncpg's cancel request may be lost, and a closed socket is only noticed when the
        backend next looks): cancel it from the owner's connection, then terminate it."""
        pid = connection.get_server_pid()
        connection.terminate()
        self.in_background(self.end_backend(pid, pool, connection, then))

    async def end_backend(
        self, pid: int, pool: ReaderPool, connection: asyncpg.Connection, then: Callable[[], None]
    ) -> None:
        """Stop the backend, then give its room in the budget back and end the caller's turn
        (only once it is gone: the next caller the gate lets in finds the room free)."""
        try:
            await self.stop_pid(pid, on_replica=pool.name.endswith(REPLICA))
        finally:
            try:
                await pool.discard(connection)
            finally:
                then()

    async def stop_pid(self, pid: int, *, on_replica: bool) -> None:
        if on_replica:  # the primary cannot signal the replica's backends; the socket is closed
            return
        still_active = text(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND state = 'active'"
        )
        try:
            async with self.engine.connect() as owner:
                await owner.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": pid})
                deadline = time.monotonic() + CANCEL_WAIT_S
                while time.monotonic() < deadline:
                    if not await owner.scalar(still_active, {"pid": pid}):
                        return
                    await asyncio.sleep(0.05)
                await owner.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        except DBAPIError as error:  # the owner may not be allowed to signal readers
            log.warning("could not stop reader backend %s: %s", pid, error)

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._releases.add(task)
        task.add_done_callback(self._released)

    def _released(self, release: asyncio.Task[None]) -> None:
        self._releases.discard(release)
        if not release.cancelled() and release.exception() is not None:
            log.warning("releasing a reader connection failed: %r", release.exception())

    async def read(
        self, connection: asyncpg.Connection, sql: str, *, max_rows: int, timeout_ms: int
    ) -> SqlResult:
        query = wrap(sql, limit=max_rows + 1)
        begin = "BEGIN READ ONLY"
        if timeout_ms != self.settings.statement_timeout_ms:  # else a startup parameter
            begin += f"; SET LOCAL statement_timeout = {int(timeout_ms)}"
        await connection.execute(begin)
        collector = RowCollector(max_rows=max_rows, max_bytes=self.max_result_bytes)
        try:
            chunks = fetched_in_chunks(connection, query, self.max_result_bytes)
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    if not collector.add(chunk):
                        break  # the rest is neither fetched nor computed
        except asyncpg.PostgresError as error:
            if not is_row_too_large(error):
                raise
            collector.truncated_by = "bytes"  # the server refused the next row
            await end_transaction(connection)
        columns = collector.columns
        if columns is None:
            columns = await self.columns_of(connection, query)
        return SqlResult(
            sql=sql,
            columns=columns,
            rows=collector.rows,
            row_count=len(collector.rows),
            truncated=collector.truncated_by is not None,
            elapsed_ms=0.0,
            truncated_by=collector.truncated_by,
        )

    async def columns_of(self, connection: asyncpg.Connection, query: str) -> list[str]:
        """Column names of a result with no rows (only then is a separate describe needed)."""
        statement = await connection.prepare(query)
        return [attribute.name for attribute in statement.get_attributes()][:-1]

    def capped(
        self, records: Sequence[Any], max_rows: int
    ) -> tuple[list[list[JsonValue]], str | None]:
        """``records`` (user columns only) as the cursor would return them: see RowCollector."""
        collector = RowCollector(
            max_rows=max_rows, max_bytes=self.max_result_bytes, check_column=False
        )
        for start in range(0, len(records), FETCH_ROWS):
            if not collector.add(records[start : start + FETCH_ROWS]):
                break
        return collector.rows, collector.truncated_by


async def fetched_in_chunks(
    connection: asyncpg.Connection, query: str, max_row_bytes: int
) -> AsyncGenerator[list[asyncpg.Record], None]:
    """The wrapped query's records, ``FETCH_ROWS`` per round trip (the first round trip binds
    and fetches at once); the caller stops iterating to stop fetching."""
    chunk: list[asyncpg.Record] = []
    async for record in connection.cursor(query, max_row_bytes, prefetch=FETCH_ROWS):
        chunk.append(record)
        if len(chunk) == FETCH_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Record(Protocol):
    """What the collector needs of a row: asyncpg's Record (or a dict, in tests)."""

    def __len__(self) -> int: ...

    def keys(self) -> Any: ...

    def values(self) -> Any: ...


@dataclass
class RowCollector:
    """Rows as they arrive: at most ``max_rows``, and only whole rows while their JSON
    encodings add up to at most ``max_bytes``."""

    max_rows: int
    max_bytes: int
    check_column: bool = True  # records end with the wrapper's row-size check
    rows: list[list[JsonValue]] = field(default_factory=list)
    columns: list[str] | None = None
    truncated_by: str | None = None
    size: int = 0

    def add(self, records: Sequence[Record]) -> bool:
        """Take the next records; False once a cap is reached (nothing more is wanted).
        Rows are sized a chunk at a time (one encoding of a chunk is its rows' encodings
        joined by commas, in brackets) and one by one only in the chunk that crosses the cap."""
        if records and self.columns is None:
            names = list(records[0].keys())
            self.columns = names[:-1] if self.check_column else names
        room = self.max_rows - len(self.rows)
        if len(records) > room:
            records, self.truncated_by = records[:room], "rows"
        for start in range(0, len(records), SIZE_CHUNK):
            if not self.add_sized([self.json_row(r) for r in records[start : start + SIZE_CHUNK]]):
                self.truncated_by = "bytes"
                return False
        return self.truncated_by is None

    def add_sized(self, chunk: list[list[JsonValue]]) -> bool:
        """Whole rows while they fit: the chunk at once when it surely fits (texts alone, a
        lower bound of its JSON, leave room; encoding a chunk of large rows would take as
        much memory again), else row by row."""
        texts = sum(len(value) for row in chunk for value in row if type(value) is str)
        if self.size + texts <= self.max_bytes:
            chunk_size = encoded_size(cast(list[JsonValue], chunk)) - 1 - len(chunk)
            if self.size + chunk_size <= self.max_bytes:
                self.rows += chunk
                self.size += chunk_size
                return True
        for row in chunk:
            self.size += encoded_size(row)
            if self.size > self.max_bytes:
                return False
            self.rows.append(row)
        return True

    def json_row(self, record: Record) -> list[JsonValue]:
        """``json_value`` of each user value; text, integers, booleans and NULL as they are."""
        values = record.values()
        if self.check_column:
            values = itertools.islice(values, len(record) - 1)
        return [value if type(value) in PLAIN_TYPES else json_value(value) for value in values]
