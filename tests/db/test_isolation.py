"""Tenant isolation, proven at the database alone: a reader of tenant A, connected with its
own login and free to send any statement (simple protocol, no guard), never sees a row of
tenant B, never reads PII or application tables, and cannot write or change its tenant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from db.models import APPLICATION_TABLES, BUSINESS_TABLES, PII_COLUMNS, PROCESS_TABLES
from db.reader import connect_reader, reader_login
from db.tenants import TenantRecord

TENANT_SCOPED = [t for t in BUSINESS_TABLES if t != "tenants"]

# Every route we know of for a session to change its tenant, role or settings.
ESCAPE_ATTEMPTS = [
    "SET ROLE bichat_reader",
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SET SESSION AUTHORIZATION DEFAULT",
    "RESET ROLE",
    "RESET ALL",
    "SELECT set_config('search_path', 'public', false)",
    "SELECT set_config('role', 'postgres', false)",
    "SET bichat.tenant_id = '00000000-0000-0000-0000-000000000000'",
    "SET search_path = public, pg_catalog",
    "SET default_transaction_read_only = off",
    "ALTER ROLE CURRENT_USER SET statement_timeout = 0",
    "ALTER ROLE CURRENT_USER BYPASSRLS",
    "ALTER TABLE public.orders DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE public.orders NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY bichat_tenant_read ON public.orders",
    "CREATE POLICY everything ON public.orders FOR SELECT USING (true)",
    "CREATE OR REPLACE FUNCTION public.bichat_reader_tenant_id() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'",
    "GRANT bichat_reader TO CURRENT_USER",
    "DO $$ BEGIN PERFORM set_config('role', 'postgres', false); END $$",
    "CREATE TEMP TABLE stash AS SELECT * FROM public.orders",
    "UPDATE public.tenant_readers SET tenant_id = tenant_id",
]


@pytest_asyncio.fixture(scope="module")
async def two_tenants(
    engine: AsyncEngine, settings: Settings
) -> AsyncIterator[tuple[TenantRecord, TenantRecord]]:
    from db.tenants import create_tenant
    from tests.factories import fill_tenant

    async with engine.begin() as connection:
        a = await create_tenant(connection, slug="iso-a", name="A", settings=settings)
        b = await create_tenant(connection, slug="iso-b", name="B", settings=settings)
        await fill_tenant(connection, a.id)
        await fill_tenant(connection, b.id)
    yield a, b


ReaderFactory = Callable[[TenantRecord], Awaitable[asyncpg.Connection]]


@pytest_asyncio.fixture
async def reader_of(
    engine: AsyncEngine, settings: Settings, database_url: str
) -> AsyncIterator[ReaderFactory]:
    opened: list[asyncpg.Connection] = []

    async def open_reader(tenant: TenantRecord) -> asyncpg.Connection:
        async with engine.connect() as connection:
            login = await reader_login(connection, tenant.id)
        reader = await connect_reader(settings, owner_url=database_url, login=login)
        opened.append(reader)
        return reader

    yield open_reader
    for reader in opened:
        await reader.close()


async def visible_tenants(reader: asyncpg.Connection, table: str) -> set[str]:
    column = "id" if table == "tenants" else "tenant_id"
    rows = await reader.fetch(f"SELECT DISTINCT {column}::text AS t FROM public.{table}")
    return {row["t"] for row in rows}


async def assert_sees_only(reader: asyncpg.Connection, tenant: TenantRecord) -> None:
    for table in BUSINESS_TABLES:
        assert await visible_tenants(reader, table) == {str(tenant.id)}, table
    assert await reader.fetchval("SELECT count(*) FROM bi.customers") == 2


async def test_reader_sees_only_its_tenant_in_every_business_table(two_tenants, reader_of):
    a, b = two_tenants
    await assert_sees_only(await reader_of(a), a)
    await assert_sees_only(await reader_of(b), b)


async def test_reader_stays_in_its_tenant_after_every_escape_attempt(two_tenants, reader_of):
    a, _ = two_tenants
    reader = await reader_of(a)
    succeeded = []
    for statement in ESCAPE_ATTEMPTS:
        try:
            await reader.execute(statement)  # simple protocol: the strongest attacker
            succeeded.append(statement)
        except asyncpg.PostgresError:
            pass
        await assert_sees_only(reader, a)
    # Only these may succeed, and none of them changed the tenant. The ALTER ROLE works only
    # because the session switched read-only off first (a role may always set its own
    # defaults); the SQL tool's single statement in a read-only transaction cannot, bichat's
    # connections override role defaults at startup, and `bichat db init` resets them.
    assert set(succeeded) <= {
        "ALTER ROLE CURRENT_USER SET statement_timeout = 0",
        "SET SESSION AUTHORIZATION DEFAULT",
        "RESET ROLE",
        "RESET ALL",
        "SET bichat.tenant_id = '00000000-0000-0000-0000-000000000000'",
        "SET search_path = public, pg_catalog",
        "SET default_transaction_read_only = off",
    }, succeeded
    assert await reader.fetchval("SELECT session_user") != "postgres"


async def test_row_security_off_is_refused_rather_than_bypassed(two_tenants, reader_of):
    a, _ = two_tenants
    reader = await reader_of(a)
    await reader.execute("SET row_security = off")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await reader.fetch("SELECT * FROM public.orders")


async def test_customers_hides_pii_and_select_star_works(two_tenants, reader_of):
    a, _ = two_tenants
    reader = await reader_of(a)
    rows = await reader.fetch("SELECT * FROM customers")
    assert len(rows) == 2
    assert not set(PII_COLUMNS["customers"]) & set(rows[0].keys())
    for column in PII_COLUMNS["customers"]:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.fetch(f"SELECT {column} FROM public.customers")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.fetch("SELECT * FROM public.customers")


@pytest.mark.parametrize("table", (*APPLICATION_TABLES, *PROCESS_TABLES))
async def test_application_tables_are_unreadable(two_tenants, reader_of, table):
    reader = await reader_of(two_tenants[0])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.fetch(f"SELECT 1 FROM public.{table} LIMIT 1")


@pytest.mark.parametrize("table", TENANT_SCOPED)
async def test_writes_fail_even_with_read_only_switched_off(two_tenants, reader_of, engine, table):
    a, _ = two_tenants
    reader = await reader_of(a)
    await reader.execute("SET default_transaction_read_only = off")
    for statement in (
        f"DELETE FROM public.{table}",
        f"UPDATE public.{table} SET tenant_id = tenant_id",
        f"INSERT INTO public.{table} DEFAULT VALUES",
        f"TRUNCATE public.{table}",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.execute(statement)
    async with engine.connect() as owner:
        from sqlalchemy import text

        count = await owner.scalar(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": a.id}
        )
    assert count == 2


@pytest.mark.parametrize(
    "call",
    [
        "set_config('work_mem', '1GB', false)",
        "pg_sleep(0)",
        "pg_advisory_lock(1)",
        "pg_try_advisory_xact_lock(1)",
        "pg_notify('x', 'y')",
        "pg_cancel_backend(pg_backend_pid())",
        "pg_terminate_backend(pg_backend_pid())",
        "lo_create(0)",
        "lo_from_bytea(0, 'x')",
        # they write WAL or take a transaction id even in a READ ONLY transaction
        "pg_logical_emit_message(false, 'x', 'y')",
        "pg_logical_emit_message(true, 'x', '\\x00'::bytea)",
        "txid_current()",
        "pg_current_xact_id()",
    ],
)
async def test_session_altering_functions_are_revoked(two_tenants, reader_of, call):
    reader = await reader_of(two_tenants[0])
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for function"):
        await reader.fetch(f"SELECT {call}")


async def test_server_applies_reader_limits(filled_tenant, reader_of, settings, engine):
    tenant, _ = await filled_tenant()
    reader = await reader_of(tenant)
    assert await reader.fetchval("SHOW default_transaction_read_only") == "on"
    assert (
        await reader.fetchval("SHOW statement_timeout")
        == f"{settings.statement_timeout_ms // 1000}s"
    )
    assert await reader.fetchval("SHOW search_path") == "bi, public"
    assert await reader.fetchval("SHOW standard_conforming_strings") == "on"
    assert await reader.fetchval("SHOW jit") == "off"
    assert await reader.fetchval("SHOW client_connection_check_interval") == "1s"
    assert await reader.fetchval("SELECT ARRAY[1, 2]") == [1, 2]  # type introspection works
    assert await reader.fetchval("SHOW work_mem") == f"{settings.reader_work_mem_kb // 1024}MB"
    assert (
        await reader.fetchval("SHOW temp_file_limit")
        == f"{settings.reader_temp_file_limit_kb // 1024}MB"
    )
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await reader.execute("ALTER ROLE CURRENT_USER SET statement_timeout = 0")
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await reader.execute("CREATE TEMP TABLE t (a int)")


async def test_reader_cannot_create_temp_tables_or_schemas(two_tenants, reader_of):
    reader = await reader_of(two_tenants[0])
    await reader.execute("SET default_transaction_read_only = off")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute("CREATE TEMP TABLE t (a int)")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute("CREATE SCHEMA evil")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await reader.execute("CREATE TABLE public.evil (a int)")


async def role_default(engine: AsyncEngine, role: str, name: str) -> str | None:
    from db.reads import read_value

    config = await read_value(
        engine,
        "SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
        "WHERE r.rolname = :r AND s.setdatabase = 0",
        {"r": role},
    )
    values = dict(item.split("=", 1) for item in config or [])
    return values.get(name)


async def test_tampered_role_defaults_do_not_reach_bichat_connections_and_init_restores_them(
    filled_tenant, reader_of, engine, settings
):
    from db.bootstrap import initialise

    tenant, _ = await filled_tenant()
    reader = await reader_of(tenant)
    role = await reader.fetchval("SELECT session_user")
    await reader.execute("SET default_transaction_read_only = off")
    await reader.execute("ALTER ROLE CURRENT_USER SET statement_timeout = 0")
    await reader.execute("ALTER ROLE CURRENT_USER SET default_transaction_read_only = off")
    assert await role_default(engine, role, "statement_timeout") == "0"
    later = await reader_of(tenant)  # a connection bichat opens after the tampering
    expected_timeout = f"{settings.statement_timeout_ms // 1000}s"
    assert await later.fetchval("SHOW statement_timeout") == expected_timeout
    assert await later.fetchval("SHOW default_transaction_read_only") == "on"
    await initialise(engine, settings)
    assert (
        await role_default(engine, role, "statement_timeout")
        == f"{settings.statement_timeout_ms}ms"
    )
    assert await role_default(engine, role, "default_transaction_read_only") == "on"


async def test_per_database_role_settings_are_reset_and_never_reach_bichat(
    filled_tenant, reader_of, engine, settings, database_url
):
    """Regression: ALTER ROLE ... IN DATABASE settings survived db init, and unpinned ones
    (row_security, hash_mem_multiplier) applied to bichat's own reader connections."""
    from db.bootstrap import initialise
    from db.urls import database_name

    tenant, _ = await filled_tenant()
    reader = await reader_of(tenant)
    database = database_name(database_url)
    await reader.execute("SET default_transaction_read_only = off")
    for setting in ("row_security = off", "hash_mem_multiplier = 1000", "statement_timeout = 0"):
        await reader.execute(f'ALTER ROLE CURRENT_USER IN DATABASE "{database}" SET {setting}')
    later = await reader_of(tenant)
    assert await later.fetchval("SHOW row_security") == "on"
    assert await later.fetchval("SHOW hash_mem_multiplier") == "2"
    await initialise(engine, settings)
    role = await later.fetchval("SELECT session_user")
    from db.reads import read_value

    left = await read_value(
        engine,
        "SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
        "WHERE r.rolname = :r AND s.setdatabase <> 0",
        {"r": role},
    )
    assert left == 0


async def test_a_reader_cannot_make_its_tenant_undeletable(
    filled_tenant, reader_of, engine, settings, server_url
):
    """Regression: a reader that created a large object in another database blocked DROP ROLE."""
    import asyncpg
    from sqlalchemy import text

    from db.reader import reader_login, reader_url
    from db.tenants import delete_tenant
    from db.urls import with_database

    tenant, _ = await filled_tenant()
    async with engine.connect() as owner:
        login = await reader_login(owner, tenant.id)
    other = await asyncpg.connect(
        with_database(reader_url(settings, owner_url=server_url, login=login), "postgres")
    )
    await other.execute("SET default_transaction_read_only = off")
    await other.execute("SELECT lo_create(0)")
    await other.close()
    async with engine.begin() as connection:
        await delete_tenant(connection, slug=tenant.slug)
    async with engine.connect() as owner:
        can_login = await owner.scalar(
            text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": login.role}
        )
        rows = await owner.scalar(
            text("SELECT count(*) FROM tenants WHERE id = :t"), {"t": tenant.id}
        )
    assert rows == 0 and can_login is False  # data gone, role can no longer log in


async def test_keyword_search_function_returns_only_the_callers_tenant(
    two_tenants, reader_of, engine
):
    """Migration 0003: the SECURITY DEFINER keyword search scopes to the caller's tenant."""
    from sqlalchemy import text

    a, b = two_tenants
    reader = await reader_of(a)
    found = {
        r["product_id"]
        for r in await reader.fetch("SELECT * FROM bichat_keyword_search('tent', 50)")
    }
    async with engine.connect() as owner:
        own = set(
            await owner.scalars(text("SELECT id FROM products WHERE tenant_id = :t"), {"t": a.id})
        )
        other = set(
            await owner.scalars(text("SELECT id FROM products WHERE tenant_id = :t"), {"t": b.id})
        )
    assert found and found <= own and not found & other
    async with engine.connect() as owner:
        public_can = await owner.scalar(
            text(
                "SELECT has_function_privilege('public', 'bichat_keyword_search(text, integer)', 'EXECUTE')"
            )
        )
    assert public_can is False


# Sample arguments by type, for calling every function a reader may execute.
SAMPLE_ARGUMENTS = {
    "text": "'ab'", "character varying": "'ab'", "name": "'a'::name", "\"char\"": "'a'::\"char\"",
    "cstring": "'a'::cstring", "bytea": "'\\x00'::bytea", "json": "'{\"a\": 1}'::json",
    "jsonb": "'{\"a\": 1}'::jsonb", "text[]": "ARRAY['a']", "anyarray": "ARRAY['a']",
    "anyelement": "'a'::text", "\"any\"": "'a'::text", "integer": "1", "bigint": "1::bigint",
    "smallint": "1::smallint", "numeric": "1::numeric", "double precision": "1::float8",
    "real": "1::real", "boolean": "true", "oid": "'public.orders'::regclass::oid",
    "regclass": "'public.orders'::regclass", "regproc": "'now'::regproc",
    "regtype": "'int4'::regtype", "xid": "'1'::xid", "xid8": "'1'::xid8", "pg_lsn": "'0/0'::pg_lsn",
    "timestamp with time zone": "now()", "interval": "interval '1 s'", "date": "current_date",
    "uuid": "'00000000-0000-0000-0000-000000000000'::uuid",
}  # fmt: skip


async def test_no_function_a_reader_may_execute_writes_wal_or_takes_a_transaction_id(
    two_tenants, reader_of, engine
):
    """A read-only transaction can still write WAL (pg_logical_emit_message wrote 1 GB in
    7 s) or consume transaction ids (txid_current). Every pg_catalog function a reader may
    execute whose arguments can be sampled is called, in its own READ ONLY transaction, under
    EXPLAIN (ANALYZE, WAL): none may write a WAL record or leave a transaction id assigned."""
    from sqlalchemy import text

    reader = await reader_of(two_tenants[0])
    role = await reader.fetchval("SELECT session_user")
    async with engine.connect() as owner:
        functions = (
            await owner.execute(
                text(
                    "SELECT p.oid::regprocedure::text AS signature, p.proname AS name, "
                    "p.proretset AS set_returning, "
                    "array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types "
                    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'pg_catalog' AND p.prokind = 'f' "
                    "AND has_function_privilege(:r, p.oid, 'EXECUTE') ORDER BY 1"
                ),
                {"r": role},
            )
        ).all()
    callable_ = [f for f in functions if all(t in SAMPLE_ARGUMENTS for t in f.types)]
    assert len(callable_) > 1000
    await reader.execute("SET statement_timeout = '2s'")
    called, writes = 0, []
    for function in callable_:
        arguments = ", ".join(SAMPLE_ARGUMENTS[t] for t in function.types)
        call = f'"{function.name}"({arguments})'
        query = f"SELECT * FROM {call}" if function.set_returning else f"SELECT {call}"
        outcome = await wal_and_xid(reader, query)
        if outcome is None:
            continue  # refused, or the sample arguments do not suit it
        called += 1
        # Reading may prune a page or set hint bits once (WAL too); a function that writes
        # WAL writes it every time.
        if outcome[1] or (outcome[0] and (await wal_and_xid(reader, query) or (0, 0))[0]):
            writes.append(function.signature)
    assert called > 1000
    assert writes == []


async def wal_and_xid(reader: asyncpg.Connection, query: str) -> tuple[int, int] | None:
    """WAL records ``query`` wrote and whether its READ ONLY transaction took an id."""
    transaction = reader.transaction(readonly=True)
    await transaction.start()
    try:
        plan = await reader.fetchval(f"EXPLAIN (ANALYZE, WAL, FORMAT JSON) {query}")
        xid = await reader.fetchval("SELECT pg_current_xact_id_if_assigned()")
    except asyncpg.PostgresError:
        return None
    finally:
        await transaction.rollback()
    return json.loads(plan)[0]["Plan"].get("WAL Records", 0), int(xid is not None)
