"""A shop's slowest reader queries from ``pg_stat_statements``, preloaded on the embedded
server the tests use: a shop sees its own reader queries and never another shop's; a server
that did not load the module, or a database without the extension, says how to enable it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.errors import InvalidInput
from app.store.slow_queries import StatementStatistics, slow_queries
from db.engine import create_engine
from tests.conftest import migrated


async def ran(executor, tenant, sql: str, times: int = 1) -> None:
    for _ in range(times):
        await executor.run(tenant_id=tenant.id, sql=sql)


async def statistics_of(url: str, *, first: str | None = None) -> StatementStatistics:
    """A (random) shop's statistics on the database at ``url``, after ``first`` ran there."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if first is not None:
                await connection.execute(text(first))
            tenant_id = await connection.scalar(text("SELECT gen_random_uuid()"))
        return await slow_queries(engine, tenant_id=tenant_id)
    finally:
        await engine.dispose()


async def test_a_shop_sees_its_own_reader_queries_and_never_another_shops(
    engine, module_executor, filled_tenant
):
    shop_a, _ = await filled_tenant()
    shop_b, _ = await filled_tenant()
    slow = "SELECT count(*) AS slow_a FROM orders o1 CROSS JOIN order_items i2 WHERE o1.id > 5"
    await ran(module_executor, shop_a, slow, times=3)
    await ran(module_executor, shop_a, "SELECT 1 AS quick_a")
    await ran(module_executor, shop_b, "SELECT count(*) AS only_b FROM products")

    mine = await slow_queries(engine, tenant_id=shop_a.id)
    theirs = await slow_queries(engine, tenant_id=shop_b.id)

    assert mine.missing is None and mine.since is not None
    texts = [query.query for query in mine.queries]
    assert any("slow_a" in t for t in texts) and any("quick_a" in t for t in texts)
    assert not any("only_b" in t for t in texts)
    assert [q.query for q in theirs.queries if "slow_a" in q.query or "quick_a" in q.query] == []
    assert any("only_b" in q.query for q in theirs.queries)
    [counted] = [q for q in mine.queries if "slow_a" in q.query]
    assert counted.calls == 3 and counted.total_ms >= counted.max_ms >= counted.mean_ms > 0
    assert "$1" in counted.query  # normalised: the constant 5 is a parameter
    assert not any(t.upper().startswith(("BEGIN", "SET", "COMMIT")) for t in texts)
    by_mean = [q.mean_ms for q in mine.queries]
    assert by_mean == sorted(by_mean, reverse=True)
    by_total = [
        q.total_ms for q in (await slow_queries(engine, tenant_id=shop_a.id, sort="total")).queries
    ]
    assert by_total == sorted(by_total, reverse=True)
    assert len((await slow_queries(engine, tenant_id=shop_a.id, limit=1)).queries) == 1


async def test_an_unknown_sort_is_refused(engine, filled_tenant):
    shop, _ = await filled_tenant()
    with pytest.raises(InvalidInput, match="mean or total"):
        await slow_queries(engine, tenant_id=shop.id, sort="rows")


async def test_a_database_without_the_extension_says_how_to_enable_it(make_database):
    url = await migrated(await make_database())
    found = await statistics_of(url, first="DROP EXTENSION pg_stat_statements")
    assert found.queries == [] and found.missing
    assert "not created" in found.missing and "bichat db init" in found.missing


async def test_a_server_that_did_not_preload_the_module_says_so(controlled):
    """The controlled server is a plain initdb: the extension's files are there (so the
    migration creates it), the module is not in shared_preload_libraries."""
    found = await statistics_of(await migrated(await controlled.create_database("no_preload")))
    assert found.queries == [] and found.missing
    assert "did not load it" in found.missing and "shared_preload_libraries" in found.missing
