"""The SQL tool: results, errors, each security layer on its own, and denial of service."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import time
import tracemalloc
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text

from app.errors import BichatError
from app.sqlguard import UnsafeSQLError
from app.tools import registry, run_sql
from app.tools import sql as sql_module
from app.tools.json_values import encoded_size, json_value
from app.tools.reader_gate import ShopBusy
from app.tools.sql import QueryTimeout, ResourceLimit, SqlExecutionError, SqlExecutor
from db.reader_pool import Connect, ReadersBusy
from db.seed import seed_tenant
from tests.factories import tool_context

TIMEOUT_MS = 1000
GUARD_DATA = Path(__file__).parents[2] / "data" / "guard"


@pytest_asyncio.fixture(scope="module")
async def tenants(engine, settings):
    a = await seed_tenant(
        engine, settings, slug="sql-a", seed=21, orders=300, end=date(2026, 11, 22)
    )
    b = await seed_tenant(
        engine, settings, slug="sql-b", seed=22, orders=300, end=date(2026, 11, 22)
    )
    async with engine.connect() as connection:
        ids = dict(
            (
                await connection.execute(
                    text("SELECT slug, id FROM tenants WHERE slug IN ('sql-a', 'sql-b')")
                )
            ).all()
        )
    return ids["sql-a"], ids["sql-b"], a, b


def executor_for(engine, settings, database_url, **options) -> SqlExecutor:
    return SqlExecutor(engine=engine, settings=settings, owner_url=database_url, **options)


@pytest_asyncio.fixture
async def guarded(engine, settings, database_url):
    executor = executor_for(engine, settings, database_url)
    yield executor
    await executor.close()


@pytest_asyncio.fixture
async def database_only(engine, settings, database_url):
    """The guard bypassed: only the database stands between the SQL and the data."""
    executor = executor_for(engine, settings, database_url, guard=False)
    yield executor
    await executor.close()


class SuperuserExecutor(SqlExecutor):
    """Connects as the owner (a superuser): no RLS, no grants; only the guard protects."""

    async def connector(self, tenant_id: uuid.UUID, server: str) -> Connect:
        async def connect() -> asyncpg.Connection:
            return await asyncpg.connect(self.owner_url)

        return connect


@pytest_asyncio.fixture
async def guard_only(engine, settings, database_url):
    executor = SuperuserExecutor(engine=engine, settings=settings, owner_url=database_url)
    yield executor
    await executor.close()


# ----- results -------------------------------------------------------------------------------


async def test_results_have_columns_rows_and_timing(tenants, guarded):
    a, *_ = tenants
    result = await guarded.run(
        tenant_id=a, sql="SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1"
    )
    assert result.columns == ["status", "n"]
    assert sum(row[1] for row in result.rows) == 300
    assert result.row_count == len(result.rows) and not result.truncated and result.elapsed_ms > 0
    assert result.sql.startswith("SELECT status")


async def test_tenant_scope_holds_through_the_tool(tenants, guarded, database_only):
    a, b, *_ = tenants
    for executor in (guarded, database_only):
        seen = await executor.run(tenant_id=a, sql="SELECT DISTINCT tenant_id FROM orders")
        assert seen.rows == [[str(a)]]
    seen_b = await database_only.run(
        tenant_id=a, sql=f"SELECT count(*) FROM orders WHERE tenant_id = '{b}'"
    )
    assert seen_b.rows == [[0]]


@pytest.mark.parametrize(("rows", "truncated"), [(10, False), (11, True), (500, True)])
async def test_row_cap_sets_truncated_only_when_more_rows_exist(tenants, guarded, rows, truncated):
    a, *_ = tenants
    result = await guarded.run(
        tenant_id=a, sql=f"SELECT n FROM generate_series(1, {rows}) AS n", max_rows=10
    )
    assert result.row_count == min(rows, 10)
    assert result.truncated is truncated
    assert result.truncated_by == ("rows" if truncated else None)
    assert [r[0] for r in result.rows] == list(range(1, min(rows, 10) + 1))  # order preserved


async def test_byte_cap_truncates_large_results(tenants, engine, settings, database_url):
    a, *_ = tenants
    executor = executor_for(engine, settings, database_url, max_result_bytes=10_000)
    try:
        result = await executor.run(
            tenant_id=a, sql="SELECT repeat('x', 1000) AS blob FROM generate_series(1, 50)"
        )
    finally:
        await executor.close()
    assert result.truncated and result.truncated_by == "bytes"
    assert 5 <= result.row_count < 10


async def test_the_cursor_stops_fetching_at_the_byte_cap(tenants, engine, settings, database_url):
    """Rows past the cap are never computed: row 300 would divide by zero, and the query
    returns the rows that fit instead of failing (it failed when every row was fetched)."""
    a, *_ = tenants
    executor = executor_for(engine, settings, database_url, max_result_bytes=100_000)
    try:
        result = await executor.run(
            tenant_id=a,
            sql="SELECT n, repeat('x', 10000) AS blob, CASE WHEN n < 300 THEN n ELSE n / 0 END "
            "AS fine FROM generate_series(1, 100000) AS n",
            max_rows=100_000,
        )
    finally:
        await executor.close()
    assert result.truncated_by == "bytes" and 5 <= result.row_count < 10
    assert [row[0] for row in result.rows] == list(range(1, result.row_count + 1))


async def test_a_row_larger_than_the_result_may_be_is_never_fetched(tenants, database_only):
    """The server refuses to send a row over max_result_bytes: 20 rows of 50 MB (the guard
    bypassed: it would refuse the count) cost the client nothing, not 2.9 GB."""
    a, *_ = tenants
    tracemalloc.start()
    try:
        result = await database_only.run(
            tenant_id=a, sql="SELECT repeat('x', 50000000) AS blob FROM generate_series(1, 20)"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.rows == [] and result.truncated_by == "bytes" and result.columns == ["blob"]
    assert peak < 10_000_000


async def test_rows_fetched_before_a_row_too_large_are_kept(tenants, database_only):
    a, *_ = tenants
    result = await database_only.run(
        tenant_id=a,
        sql="SELECT n, repeat('x', CASE WHEN n < 70 THEN 10 ELSE 2000000 END) AS blob "
        "FROM generate_series(1, 100) AS n",
    )
    assert [row[0] for row in result.rows] == list(range(1, 65))  # the first two chunks of rows
    assert result.truncated_by == "bytes"


async def test_server_messages_quoting_a_large_value_are_shortened(tenants, guarded):
    a, *_ = tenants
    with pytest.raises(SqlExecutionError) as raised:
        await guarded.run(
            tenant_id=a,
            sql="SELECT (SELECT string_agg('x', '') FROM generate_series(1, 200000))::int",
        )
    assert raised.value.sqlstate == "22P02" and len(raised.value.message) < 1_100
    assert "more characters" in raised.value.message


async def test_every_type_the_schema_uses_is_json_safe(tenants, guarded):
    a, *_ = tenants
    result = await guarded.run(
        tenant_id=a,
        sql="""
        SELECT o.id, o.tenant_id, o.order_number, o.total_amount, o.placed_at, o.placed_at::date AS day,
               i.quantity, r.rating, p.is_active, p.specifications, p.search_document, b.lift,
               o.delivered_at - o.placed_at AS took, array_agg(i.product_id) OVER () AS ids,
               '[1,2,3]'::vector AS v, jsonb_build_object('a', 1, 'b', ARRAY[1, 2]) AS nested,
               NULL::text AS nothing, 'NaN'::float8 AS nan
        FROM orders o JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
        LEFT JOIN reviews r ON r.order_id = o.id
        CROSS JOIN (SELECT lift FROM bundle_rules LIMIT 1) b
        WHERE o.delivered_at IS NOT NULL LIMIT 1""",
    )
    row = dict(zip(result.columns, result.rows[0], strict=True))
    json.dumps(result.to_dict(), allow_nan=False)  # strict JSON
    assert isinstance(row["id"], int) and uuid.UUID(row["tenant_id"]) == a
    assert isinstance(row["total_amount"], float)
    assert row["placed_at"].endswith("+00:00") and date.fromisoformat(row["day"])
    assert isinstance(row["specifications"], dict) and row["nested"] == {"a": 1, "b": [1, 2]}
    assert isinstance(row["search_document"], str) and row["v"] == "[1,2,3]"
    assert row["took"].startswith("PT") and isinstance(row["ids"], list)
    assert row["nothing"] is None and row["nan"] == "nan"
    assert isinstance(row["is_active"], bool) and isinstance(row["lift"], float)


# ----- errors ----------------------------------------------------------------------------------


async def test_server_errors_come_back_structured_with_hints(tenants, guarded):
    a, *_ = tenants
    with pytest.raises(SqlExecutionError) as raised:
        await guarded.run(tenant_id=a, sql="SELECT nme FROM products")
    error = raised.value.to_dict()["error"]
    assert error["code"] == "undefined_column" and error["sqlstate"] == "42703"
    assert "name" in error["hint"] and error["position"] == 8  # position in the query as sent
    with pytest.raises(SqlExecutionError) as raised:
        await guarded.run(tenant_id=a, sql="SELECT * FROM orders WHERE placed_at = 5")
    assert raised.value.sqlstate == "42883" and raised.value.hint


async def test_guard_refusals_come_back_with_a_rule_code(tenants, guarded):
    a, *_ = tenants
    with pytest.raises(UnsafeSQLError) as raised:
        await guarded.run(tenant_id=a, sql="SELECT * FROM app_users")
    assert raised.value.code == "forbidden_relation"


# ----- the database alone ------------------------------------------------------------------

DATABASE_ATTACKS = {
    "write": [
        "INSERT INTO orders (tenant_id, order_number, status, channel, payment_method, placed_at) "
        "SELECT tenant_id, 'X-1', 'paid', 'web', 'card', now() FROM orders LIMIT 1",
        "UPDATE products SET price = 0",
        "DELETE FROM orders",
        "TRUNCATE order_items",
        "DROP TABLE reviews",
        "CREATE TABLE evil (a int)",
        "CREATE TEMP TABLE evil (a int)",
        "SELECT * INTO evil FROM orders",
        "COPY orders TO STDOUT",
        "WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d",
        "SELECT * FROM orders FOR UPDATE",
        "SELECT lo_create(0)",
        "SELECT nextval('orders_id_seq')",
        "SELECT 1; DELETE FROM orders",
        # WAL and transaction ids, from inside a READ ONLY transaction
        "SELECT pg_logical_emit_message(false, 'bichat', repeat('x', 100000))",
        "SELECT pg_logical_emit_message(true, 'bichat', 'x')",
        "SELECT txid_current()",
        "SELECT pg_current_xact_id()",
    ],
    "escalation": [
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "RESET ROLE",
        "ALTER ROLE CURRENT_USER SUPERUSER",
        "GRANT ALL ON orders TO PUBLIC",
        "DO $$ BEGIN EXECUTE 'DELETE FROM orders'; END $$",
        "SELECT pg_read_file('PG_VERSION')",
        "SELECT * FROM pg_shadow",
        "LOAD 'plpgsql'",
        "SELECT pg_terminate_backend(pg_backend_pid())",
    ],
    "setting change": [
        "SET statement_timeout = 0",
        "SELECT set_config('statement_timeout', '0', false)",
        "SET default_transaction_read_only = off",
        "SET TRANSACTION READ WRITE",
        "RESET ALL",
        "DISCARD ALL",
        "SELECT set_config('search_path', 'public', false)",
        "ALTER ROLE CURRENT_USER SET statement_timeout = 0",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_sleep(30)",
    ],
    "tenant escape": [
        "SET bichat.tenant_id = 'x'",
        "SELECT set_config('role', 'postgres', true)",
        "SET row_security = off",
        "SELECT * FROM tenant_readers",
    ],
    "pii read": [
        "SELECT email FROM customers",
        "SELECT phone FROM public.customers",
        "SELECT * FROM public.customers",
        "SELECT date_of_birth FROM customers",
        "SELECT password_hash FROM app_users",
        "SELECT content FROM chat_messages",
    ],
}
ALL_DATABASE_ATTACKS = [(kind, sql) for kind, items in DATABASE_ATTACKS.items() for sql in items]


async def database_fingerprint(engine) -> dict[str, object]:
    """Row counts and content hashes of every table the attacks could touch."""
    async with engine.connect() as connection:
        fingerprint = {}
        for table in (
            "orders",
            "order_items",
            "products",
            "reviews",
            "customers",
            "tenants",
            "tenant_readers",
        ):
            fingerprint[table] = await connection.scalar(
                text(
                    f"SELECT count(*)::text || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t"
                )
            )
        fingerprint["tables"] = await connection.scalar(
            text(
                "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
            )
        )
        fingerprint["roles"] = await connection.scalar(
            text("SELECT string_agg(rolname || rolsuper::text, ',' ORDER BY rolname) FROM pg_roles")
        )
        fingerprint["role_settings"] = await connection.scalar(
            text(
                "SELECT string_agg(setconfig::text, ',' ORDER BY setconfig::text) FROM pg_db_role_setting"
            )
        )
    return fingerprint


async def session_settings(executor: SqlExecutor, tenant_id) -> list[object]:
    result = await executor.run(
        tenant_id=tenant_id,
        sql=(
            "SELECT current_setting('statement_timeout'), current_setting('transaction_read_only'), "
            "current_setting('search_path'), session_user, current_user"
        ),
    )
    return result.rows[0]


async def test_database_alone_stops_every_attack_and_nothing_changes(
    tenants, engine, database_only
):
    a, *_ = tenants
    before = await database_fingerprint(engine)
    settings_before = await session_settings(database_only, a)
    for kind, sql in ALL_DATABASE_ATTACKS:
        with pytest.raises(SqlExecutionError):
            await database_only.run(tenant_id=a, sql=sql)
        assert await session_settings(database_only, a) == settings_before, (kind, sql)
    assert await database_fingerprint(engine) == before


def corpus(name: str) -> list[dict[str, str]]:
    with (GUARD_DATA / name).open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ATTACK_CORPUS = corpus("attacks.tsv")


async def test_database_alone_fails_every_attack_in_the_corpus(tenants, engine, database_only):
    a, *_ = tenants
    before = await database_fingerprint(engine)
    for row in ATTACK_CORPUS:
        with pytest.raises(BichatError):
            await database_only.run(tenant_id=a, sql=row["snippet"], timeout_ms=TIMEOUT_MS)
    assert await database_fingerprint(engine) == before


# ----- the guard alone ------------------------------------------------------------------------


async def test_guard_alone_rejects_every_attack_before_it_runs(tenants, engine, guard_only):
    a, b, *_ = tenants
    unprotected = await guard_only.run(
        tenant_id=a, sql="SELECT count(DISTINCT tenant_id) FROM orders"
    )
    assert unprotected.rows[0][0] >= 2  # a superuser sees every tenant: only the guard stands
    before = await database_fingerprint(engine)
    attacks = [sql for _, sql in ALL_DATABASE_ATTACKS] + [row["snippet"] for row in ATTACK_CORPUS]
    attacks.append(
        f"SELECT * FROM orders WHERE tenant_id = '{b}'"
    )  # is caught by RLS, not by the guard
    for sql in attacks[:-1]:
        with pytest.raises(UnsafeSQLError):
            await guard_only.run(tenant_id=a, sql=sql)
    assert await database_fingerprint(engine) == before


WHOLE_ROW_READS = [
    "SELECT * FROM customers",
    "SELECT c FROM customers AS c",
    "SELECT c.* FROM customers AS c",
    "SELECT (c).* FROM customers AS c",
    "SELECT ROW(c.*) FROM customers AS c",
    "SELECT row_to_json(c) FROM customers AS c",
    "SELECT to_jsonb(c) FROM customers AS c",
    "SELECT to_json(c) FROM customers AS c",
    "SELECT json_agg(c) FROM customers AS c",
    "SELECT jsonb_agg(c) FROM customers AS c",
    "SELECT array_agg(c) FROM customers AS c",
    "SELECT string_agg(c::text, ',') FROM customers AS c",
    "SELECT CAST(c AS text) FROM customers AS c",
    "SELECT format('%s', c) FROM customers AS c",
    "SELECT concat(c) FROM customers AS c",
    "SELECT customers FROM customers",
    "SELECT to_jsonb(c) ->> 'email' FROM customers AS c",
    "SELECT array_to_json(array_agg(c)) FROM customers AS c",
    "SELECT jsonb_build_object('c', c) FROM customers AS c",
    "SELECT 1 FROM customers AS c WHERE c = c",
    "SELECT x FROM customers AS c, LATERAL (SELECT c) AS x(x)",
    "SELECT * FROM customers NATURAL JOIN orders",
    "TABLE customers",
    "SELECT * FROM ONLY customers",
]
CTE_SHADOWS = ["WITH customers AS (SELECT 1 AS x) ", "WITH RECURSIVE customers AS (SELECT 1 AS x) "]


def pii_tricks() -> list[str]:
    """Each whole-row read as written, against public.customers, and with a CTE named
    customers in front of the schema-qualified table."""
    tricks = list(WHOLE_ROW_READS)
    for sql in WHOLE_ROW_READS:
        if sql.startswith("TABLE"):
            continue
        qualified = sql.replace("FROM customers", "FROM public.customers").replace(
            "FROM ONLY customers", "FROM ONLY public.customers"
        )
        tricks += [qualified] + [shadow + qualified for shadow in CTE_SHADOWS]
    return tricks


async def pii_values(engine) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT email, phone, date_of_birth::text FROM customers")
        )
        return {value for row in rows for value in row if value}


async def test_guard_alone_returns_no_pii_from_whole_row_references(tenants, engine, guard_only):
    """Guard in front of a superuser: no whole-row read (record, *, JSON, casts, CTE
    shadowing a schema-qualified table) brings back an email, phone or birth date."""
    a, *_ = tenants
    private = await pii_values(engine)
    assert len(private) > 100
    leaked = {}
    for sql in pii_tricks():
        try:
            result = await guard_only.run(tenant_id=a, sql=sql)
        except (UnsafeSQLError, SqlExecutionError):
            continue
        shown = json.dumps(result.rows, default=str)
        if found := {value for value in private if value in shown}:
            leaked[sql] = sorted(found)[:2]
    assert not leaked


# ----- denial of service ------------------------------------------------------------------------

RUNAWAY = {
    "recursive cte": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "huge series": "SELECT count(*) FROM generate_series(1, 100000000000)",
    "cartesian join": "SELECT count(*) FROM order_items a, order_items b, order_items c, order_items d",
}


async def active_queries_of(engine, tenant_id) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE usename = :r AND state = 'active'"),
            {"r": f"bichat_t_{tenant_id.hex}"},
        )


@pytest.mark.parametrize("sql", RUNAWAY.values(), ids=RUNAWAY.keys())
async def test_runaway_queries_are_cancelled_by_the_server_in_time(tenants, engine, guarded, sql):
    a, *_ = tenants
    started = time.perf_counter()
    # The statement timeout, or the server's temp_file_limit if that comes first.
    with pytest.raises((QueryTimeout, ResourceLimit)):
        await guarded.run(tenant_id=a, sql=sql, timeout_ms=TIMEOUT_MS)
    assert time.perf_counter() - started < TIMEOUT_MS / 1000 + 1  # the bound
    assert await active_queries_of(engine, a) == 0  # nothing left running on the server
    healthy = await guarded.run(tenant_id=a, sql="SELECT count(*) FROM orders")
    assert healthy.rows == [[300]]


# Work a statement timeout cannot stop: one function call that runs long (the server notices
# a cancel only between calls) on a value the query built cheaply, or many such calls in
# one expression. Sized to be built within the 1 s timeout; unchecked, each ran on for
# seconds after it (normalize of 250M characters: 14 s at 1.5 GB). Most build their values
# without a large literal count, which the guard refuses outright.
def built(piece: str, times: int) -> str:
    """``times`` copies of ``piece`` joined together by an aggregate."""
    return f"(SELECT string_agg({piece}, '') FROM generate_series(1, {times}))"


TENFOLD = " || ".join(["s"] * 10)
KB_OF_E, KB_OF_X, KB_OF_A = "repeat('é', 1000)", "repeat('x', 1000)", "repeat('a', 1000)"
KB_OF_JSON, KB_OF_CONTROL = "repeat('1,', 1000)", "repeat(chr(1), 1000)"
CHARSET = built("'ab'", 500) + " || 'x'"  # 1,001 bytes
ALMOST_1MB = built("'x'", 990000)
BOMBS = {
    "normalize": f"SELECT length(normalize({built(KB_OF_E, 50000)}, NFD))",
    "normalize of concatenations": "WITH a AS MATERIALIZED (SELECT repeat('é', 100000) AS s), "
    f"b AS MATERIALIZED (SELECT {TENFOLD} AS s FROM a), "
    f"c AS MATERIALIZED (SELECT {TENFOLD} AS s FROM b) SELECT length(normalize(s, NFD)) FROM c",
    "lower of an aggregate": "SELECT length(lower(string_agg(repeat('É', 1000), ''))) "
    "FROM generate_series(1, 100000)",
    "translate": f"SELECT length(translate({built(KB_OF_X, 990)}, {CHARSET}, 'c'))",
    "strpos": f"SELECT strpos({built(KB_OF_A, 990)}, 'b' || repeat('a', 10000))",
    "btrim": f"SELECT length(btrim({built(KB_OF_X, 990)} || 'y', {CHARSET}))",
    "many calls in one expression": "SELECT "
    + " + ".join(["strpos(s, 'b' || repeat('a', 200))"] * 200)
    + " FROM (SELECT repeat('a', 990000) AS s OFFSET 0) AS h",
    "format width": "SELECT length(format('%1000000000s', 'x'))",
    "lpad": "SELECT length(lpad('x', 250000000, 'é'))",
    "to_json escaping": f"SELECT octet_length(to_json({built(KB_OF_CONTROL, 30000)})::text)",
    "jsonb parse": f"SELECT jsonb_typeof(('[' || {built(KB_OF_JSON, 30000)} || '1]')::jsonb)",
    "jsonb_pretty": f"SELECT length(jsonb_pretty(('[' || {built(KB_OF_JSON, 5000)} || '1]')::jsonb))",
    "error message echo": f"SELECT {built(KB_OF_X, 20000)}::int",
    "tsquery parse": "SELECT numnode(plainto_tsquery('simple', repeat('é ', 100000)))",
    "many large arguments": "SELECT length(json_build_array("
    + ", ".join(["s"] * 100)
    + ")::text) FROM (SELECT repeat(chr(1), 990000) AS s OFFSET 0) AS h",
    "separator repeated per element": "SELECT length(array_to_string(ARRAY(SELECT "
    f"generate_series(1, 900)), {ALMOST_1MB}))",
    "products of huge numbers": "SELECT "
    + " + ".join(["p * p"] * 60)
    + " > 0 FROM (SELECT power(10::numeric, 65000) - 1 AS p OFFSET 0) AS h",
    "array containment": "SELECT ARRAY(SELECT generate_series(1, 50000)) "
    "@> ARRAY(SELECT generate_series(50000, 1, -1))",
    "jsonb containment": "SELECT (SELECT jsonb_agg(g) FROM generate_series(1, 30000) AS g) "
    "@> (SELECT jsonb_agg(g) FROM generate_series(30000, 1, -1) AS g)",
}


@pytest.mark.parametrize("sql", BOMBS.values(), ids=BOMBS.keys())
async def test_no_reader_backend_runs_on_after_the_timeout(tenants, engine, guarded, sql):
    """CPU and memory bombs: whatever stops them (the guard, a value cap, the timeout), one
    second after the timeout the call has returned and no reader backend of the tenant is
    still working."""
    a, *_ = tenants
    started = time.perf_counter()
    call = asyncio.create_task(guarded.run(tenant_id=a, sql=sql, timeout_ms=TIMEOUT_MS))
    deadline = started + TIMEOUT_MS / 1000 + 1
    await asyncio.wait({call}, timeout=TIMEOUT_MS / 1000 + 1)
    returned_in_s = time.perf_counter() - started if call.done() else None
    await asyncio.sleep(max(0.0, deadline - time.perf_counter()))  # the backend: at the deadline
    still_working = await active_queries_of(engine, a)
    with pytest.raises(BichatError):
        await call
    assert still_working == 0 and returned_in_s is not None, (still_working, returned_in_s)


async def test_sleep_is_refused_by_both_layers(tenants, guarded, database_only):
    a, *_ = tenants
    with pytest.raises(UnsafeSQLError):
        await guarded.run(tenant_id=a, sql="SELECT pg_sleep(60)")
    started = time.perf_counter()
    with pytest.raises(SqlExecutionError, match="permission denied"):
        await database_only.run(tenant_id=a, sql="SELECT pg_sleep(60)")
    assert time.perf_counter() - started < 1


async def test_slow_queries_of_one_tenant_do_not_block_another(tenants, guarded):
    a, b, *_ = tenants
    slow = [
        asyncio.create_task(
            guarded.run(tenant_id=a, sql=RUNAWAY["recursive cte"], timeout_ms=TIMEOUT_MS)
        )
        for _ in range(20)
    ]
    await asyncio.sleep(0.2)  # let them occupy tenant A's pool and the server
    started = time.perf_counter()
    normal = await guarded.run(tenant_id=b, sql="SELECT count(*) FROM orders")
    waited = time.perf_counter() - started
    outcomes = await asyncio.gather(*slow, return_exceptions=True)
    assert normal.rows == [[300]]
    assert waited < TIMEOUT_MS / 1000  # not held up by A's queries
    # A's own calls: cancelled at the timeout, or (waiting for A's busy pool) told it is busy
    assert all(isinstance(o, QueryTimeout | ShopBusy | ReadersBusy) for o in outcomes)


# ----- audit and the LangChain tool ---------------------------------------------------------------


async def test_every_execution_is_audited(tenants, guarded, caplog):
    a, *_ = tenants
    caplog.set_level(logging.INFO, logger="bichat.audit")
    await guarded.run(tenant_id=a, sql="SELECT 1 AS x", context="test")
    with pytest.raises(UnsafeSQLError):
        await guarded.run(tenant_id=a, sql="DROP TABLE orders", context="test")
    with pytest.raises(SqlExecutionError):
        await guarded.run(tenant_id=a, sql="SELECT nope FROM orders", context="test")
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "bichat.audit"]
    assert [r["verdict"] for r in records] == ["ok", "rejected", "failed"]
    assert records[0]["rows"] == 1 and records[0]["elapsed_ms"] is not None
    assert (
        records[1]["error"]["code"] == "not_read_only" and records[1]["sql"] == "DROP TABLE orders"
    )
    assert all(r["tenant"] == str(a) and r["context"] == "test" for r in records)


async def test_run_sql_tool_returns_json_results_and_errors(engine, tenants, guarded):
    context = await tool_context(engine, "sql-a", executor=guarded)

    async def call(sql: str) -> dict:
        return json.loads((await registry.invoke(run_sql.TOOL, context, {"sql": sql})).content)

    ok = await call("SELECT count(*) AS n FROM products")
    assert ok["columns"] == ["n"] and ok["rows"][0][0] > 600
    refused = await call("DELETE FROM orders")
    assert refused["error"]["code"] == "not_read_only"
    failed = await call("SELECT nme FROM products")
    assert failed["error"]["code"] == "undefined_column" and "hint" in failed["error"]


@pytest.mark.parametrize("rows", [0, 1, 31, 32, 33, 64, 65, 200])
@pytest.mark.parametrize("cap", [0, 5, 100, 1_000, 4_000, 1_000_000])
def test_the_byte_cap_keeps_whole_rows_while_their_json_adds_up_to_at_most_the_cap(rows, cap):
    """Rows are sized a chunk at a time: the result must be what sizing one by one gives."""
    records = [{"n": i, "s": "é" * (i % 7), "d": Decimal(i) / 4, "x": None} for i in range(rows)]
    executor = SqlExecutor(engine=None, settings=None, owner_url="postgresql://h/d")
    executor.max_result_bytes = cap
    expected, size, cut = [], 0, None
    for record in records[:50]:
        row = [json_value(v) for v in record.values()]
        size += encoded_size(row)
        if size > cap:
            cut = "bytes"
            break
        expected.append(row)
    assert executor.capped(records, 50) == (expected, cut or ("rows" if rows > 50 else None))


async def test_a_connection_is_reset_after_run_returns_and_before_it_is_used_again(
    tenants, engine, settings, database_url, monkeypatch
):
    """run() does not wait for the connection's reset (a round trip), but the pool hands the
    connection out again only once it is reset, and close() waits for pending resets."""
    a, *_ = tenants
    events: list[str] = []
    reset = sql_module.reset_reader

    async def slow_reset(connection) -> None:
        events.append("reset")
        await asyncio.sleep(0.05)
        await reset(connection)
        events.append("reset done")

    monkeypatch.setattr(sql_module, "reset_reader", slow_reset)
    executor = executor_for(engine, settings, database_url, pool_size=1)  # one connection
    try:
        await executor.run(tenant_id=a, sql="SELECT 1 AS x")
        events.append("first run returned")
        await executor.run(tenant_id=a, sql="SELECT 2 AS x")
        events.append("second run returned")
    finally:
        await executor.close()
    assert events == [
        "first run returned",
        "reset",
        "reset done",
        "second run returned",
        "reset",
        "reset done",
    ]
