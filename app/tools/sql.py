"""The SQL tool: run model-written SQL through the guard and a tenant's reader role.

Layers (each holds on its own; see README "Security model"):
1. ``app.sqlguard.check_sql``: one read-only query over the reader's tables.
2. The database: a pool per tenant logged in as that tenant's reader role (row-level security
   by ``session_user``, SELECT-only grants, no PII columns, revoked session functions), every
   run inside ``BEGIN READ ONLY`` with ``SET LOCAL statement_timeout``, the SQL wrapped as
   ``SELECT * FROM (<sql>) AS bichat_result`` so that only a query expression can execute,
   read through a server-side cursor, and always rolled back.
3. The result: at most ``max_rows`` rows (one more is read to set ``truncated``), at most
   ``max_result_bytes`` of JSON, every value JSON-safe.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import uuid
from dataclasses import dataclass, fields
from typing import Any, cast

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit import record_sql
from app.config import Settings
from app.errors import BichatError
from app.sqlguard import UnsafeSQLError, check_sql
from app.tools.json_values import JsonValue, encoded_size, json_value
from db.models import BUSINESS_TABLES, PII_COLUMNS
from db.reader import ReaderLogin, prepare_reader_connection, reader_login, reader_url
from db.roles import reader_session_settings
from db.urls import plain_url

log = logging.getLogger(__name__)

READER_TABLES = frozenset(BUSINESS_TABLES)
PRIVATE_COLUMNS = frozenset(c for columns in PII_COLUMNS.values() for c in columns)
# customers is read through the view without PII; everything else from public.
READER_SCHEMAS = {t: ("bi" if t in PII_COLUMNS else "public") for t in READER_TABLES}
CLIENT_GRACE_S = 1.0  # the client gives up this long after the server should have cancelled
WRAP_PREFIX = "SELECT * FROM (\n"
WRAP_SUFFIX = "\n) AS bichat_result"
SIZE_CHUNK = 32  # rows sized with one JSON encoding (see SqlExecutor.capped)
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


@dataclass
class SqlResult:
    sql: str
    columns: list[str]
    rows: list[list[JsonValue]]
    row_count: int
    truncated: bool
    elapsed_ms: float
    truncated_by: str | None = None  # "rows" or "bytes"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (not copied: ``asdict`` would copy every row and value)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def wrap(sql: str, *, limit: int) -> str:
    """The SQL as a subquery: anything but a query expression becomes a syntax error; the
    server stops after ``limit`` rows."""
    return WRAP_PREFIX + sql.strip().rstrip(";").rstrip() + WRAP_SUFFIX + f" LIMIT {int(limit)}"


def server_error(error: asyncpg.PostgresError, *, timeout_ms: int) -> SqlExecutionError:
    if isinstance(error, asyncpg.QueryCanceledError):
        return QueryTimeout(
            f"the query ran longer than {timeout_ms} ms and the server cancelled it: filter, "
            "aggregate or limit more, or avoid cross joins and unbounded recursion",
            sqlstate=error.sqlstate,
        )
    if error.sqlstate == "53400":  # configuration_limit_exceeded: temp_file_limit, work_mem...
        return ResourceLimit(
            f"the query needed more server resources than allowed ({error}): filter or "
            "aggregate earlier, and avoid huge series, sorts and cross joins",
            sqlstate=error.sqlstate,
        )
    position = getattr(error, "position", None)
    if position is not None:
        position = max(int(position) - len(WRAP_PREFIX), 1)
    code = type(error).__name__.removesuffix("Error")
    return SqlExecutionError(
        str(getattr(error, "message", None) or error),
        code=snake_case(code) or "sql_error",
        sqlstate=error.sqlstate,
        detail=getattr(error, "detail", None),
        hint=getattr(error, "hint", None),
        position=position,
    )


async def init_reader(connection: asyncpg.Connection) -> None:
    prepare_reader_connection(connection)
    for name in ("json", "jsonb"):  # nested values in results, not JSON text
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def reset_reader(connection: asyncpg.Connection) -> None:
    """Before a pooled connection is reused: back to its startup settings. (asyncpg's default
    reset also calls pg_advisory_unlock_all, which readers are not granted.)"""
    await connection.execute("RESET ALL")


def snake_case(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class SqlExecutor:
    """Runs SQL for tenants. One instance per process; ``close()`` releases its pools."""

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
    ) -> None:
        self.engine, self.settings, self.owner_url = engine, settings, plain_url(owner_url)
        self.guard, self.pool_size = guard, pool_size
        self.max_rows, self.max_result_bytes = max_rows, max_result_bytes
        self._pools: dict[uuid.UUID, asyncpg.Pool] = {}
        self._lock = asyncio.Lock()
        self._releases: set[asyncio.Task[None]] = set()  # connections being reset

    async def close(self) -> None:
        await asyncio.gather(*self._releases, return_exceptions=True)
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.close() for pool in pools))

    async def pool(self, tenant_id: uuid.UUID) -> asyncpg.Pool:
        if tenant_id not in self._pools:
            async with self._lock:
                if tenant_id not in self._pools:
                    self._pools[tenant_id] = await self.create_pool(tenant_id)
        return self._pools[tenant_id]

    async def create_pool(self, tenant_id: uuid.UUID) -> asyncpg.Pool:
        async with self.engine.connect() as connection:
            login: ReaderLogin = await reader_login(connection, tenant_id)
        return await asyncpg.create_pool(
            reader_url(self.settings, owner_url=self.owner_url, login=login),
            min_size=0,
            max_size=self.pool_size,
            timeout=self.settings.connect_timeout_s,
            server_settings={
                "application_name": "bichat-reader",
                **reader_session_settings(self.settings),
            },
            init=init_reader,
            reset=reset_reader,
        )

    def checked(self, sql: str) -> str:
        if not self.guard:
            return sql
        return check_sql(
            sql, set(READER_TABLES), private_columns=PRIVATE_COLUMNS, table_schemas=READER_SCHEMAS
        )

    async def run(
        self,
        *,
        tenant_id: uuid.UUID,
        sql: str,
        max_rows: int | None = None,
        timeout_ms: int | None = None,
        context: str = "cli",
    ) -> SqlResult:
        """Check and run ``sql`` for the tenant; every outcome is audited."""
        audit = functools.partial(record_sql, tenant=str(tenant_id), context=context, sql=sql)
        try:
            to_run = self.checked(sql)
        except UnsafeSQLError as error:
            audit(verdict="rejected", error=error.to_dict()["error"])
            raise
        try:
            result = await self.execute(
                tenant_id,
                to_run,
                max_rows=max_rows or self.max_rows,
                timeout_ms=timeout_ms or self.settings.statement_timeout_ms,
            )
        except SqlExecutionError as error:
            audit(verdict="failed", error=error.to_dict()["error"])
            raise
        audit(verdict="ok", rows=result.row_count, elapsed_ms=result.elapsed_ms)
        return result

    async def execute(
        self, tenant_id: uuid.UUID, sql: str, *, max_rows: int, timeout_ms: int
    ) -> SqlResult:
        pool = await self.pool(tenant_id)
        started = time.perf_counter()
        connection = await pool.acquire()
        succeeded = False
        try:
            try:
                async with asyncio.timeout(timeout_ms / 1000 + CLIENT_GRACE_S):
                    result = await self.read(
                        connection, sql, max_rows=max_rows, timeout_ms=timeout_ms
                    )
            except TimeoutError:
                connection.terminate()  # the server missed its own timeout: drop the session
                # (asyncpg replaces a terminated connection in the pool)
                raise QueryTimeout(
                    f"no answer within {timeout_ms} ms; the session was ended"
                ) from None
            except asyncpg.PostgresError as error:
                raise server_error(error, timeout_ms=timeout_ms) from None
            succeeded = True
        finally:
            if succeeded:
                self.release_soon(pool, connection)
            else:  # when run() fails, nothing of its own is left running on the server
                await pool.release(connection)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def release_soon(self, pool: asyncpg.Pool, connection: asyncpg.Connection) -> None:
        """Hand a connection back without making the caller wait for its reset (a round trip
        to the server): the pool gives it out again only once the reset is done."""
        release = asyncio.create_task(pool.release(connection))
        self._releases.add(release)
        release.add_done_callback(self._released)

    def _released(self, release: asyncio.Task[None]) -> None:
        self._releases.discard(release)
        if not release.cancelled() and release.exception() is not None:
            log.warning("releasing a reader connection failed: %r", release.exception())

    async def read(
        self, connection: asyncpg.Connection, sql: str, *, max_rows: int, timeout_ms: int
    ) -> SqlResult:
        query = wrap(sql, limit=max_rows + 1)
        if timeout_ms == self.settings.statement_timeout_ms:
            # One round trip. The implicit transaction is READ ONLY and has the statement
            # timeout: both are startup parameters of the reader connection, which the
            # wrapped query (a query expression) cannot change.
            records = await connection.fetch(query)
        else:
            async with connection.transaction(readonly=True):
                await connection.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
                records = await connection.fetch(query)
        columns = list(records[0].keys()) if records else await self.columns_of(connection, query)
        rows, truncated_by = self.capped(records, max_rows)
        return SqlResult(
            sql=sql,
            columns=columns,
            rows=rows,
            row_count=len(rows),
            truncated=truncated_by is not None,
            elapsed_ms=0.0,
            truncated_by=truncated_by,
        )

    async def columns_of(self, connection: asyncpg.Connection, query: str) -> list[str]:
        """Column names of a result with no rows (only then is a separate describe needed)."""
        statement = await connection.prepare(query)
        return [attribute.name for attribute in statement.get_attributes()]

    def capped(
        self, records: list[asyncpg.Record], max_rows: int
    ) -> tuple[list[list[JsonValue]], str | None]:
        """At most ``max_rows`` rows, and only whole rows while their JSON encodings add up to
        at most ``max_result_bytes``. Rows are sized a chunk at a time (one encoding of a
        chunk is its rows' encodings joined by commas, in brackets) and one by one only in
        the chunk that crosses the cap."""
        rows: list[list[JsonValue]] = []
        size = 0
        for start in range(0, min(len(records), max_rows), SIZE_CHUNK):
            chunk = [
                json_row(record) for record in records[start : min(start + SIZE_CHUNK, max_rows)]
            ]
            chunk_size = encoded_size(cast(list[JsonValue], chunk)) - 1 - len(chunk)
            if size + chunk_size <= self.max_result_bytes:
                rows += chunk
                size += chunk_size
                continue
            for row in chunk:
                size += encoded_size(row)
                if size > self.max_result_bytes:
                    return rows, "bytes"
                rows.append(row)
        return rows, ("rows" if len(records) > max_rows else None)


def json_row(record: asyncpg.Record) -> list[JsonValue]:
    """``json_value`` of each value; text, integers, booleans and NULL as they are."""
    return [value if type(value) in PLAIN_TYPES else json_value(value) for value in record.values()]
