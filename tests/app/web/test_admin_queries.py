"""``/admin/queries``: an admin sees the slowest reader queries of their own shop (run here
through the SQL tool as each shop), never another shop's; analysts and anonymous visitors
get no page; without the extension the page says how to enable it."""

from __future__ import annotations

import re

import pytest_asyncio

from app.tools.sql import SqlExecutor
from db.engine import create_engine
from tests.app.web.conftest import db_execute, db_scalar
from tests.app.web.test_admin import client_for, text_of

HOSTILE_ALIAS = '"<b>bold</b>"'  # a quoted name stays in the normalised text: escaped


async def run_as(web_server, slug: str, *queries: str) -> None:
    """Each query run once through the SQL tool (guard, the shop's reader role)."""
    url = web_server.database_url
    tenant_id = await db_scalar(url, "SELECT id FROM tenants WHERE slug = :s", s=slug)
    engine = create_engine(url)
    executor = SqlExecutor(engine=engine, settings=web_server.settings, owner_url=url)
    try:
        for sql in queries:
            await executor.run(tenant_id=tenant_id, sql=sql)
    finally:
        await executor.close()
        await engine.dispose()


@pytest_asyncio.fixture
async def shops_queried(web_server):
    await run_as(
        web_server,
        "web-shop",
        "SELECT count(*) AS shop_a_slow FROM orders o CROSS JOIN order_items i WHERE o.id > 7",
        f"SELECT 1 AS {HOSTILE_ALIAS}",
    )
    await run_as(web_server, "web-other", "SELECT count(*) AS shop_b_only FROM products")
    return web_server


async def test_an_admin_sees_their_shops_slow_queries_and_not_another_shops(shops_queried):
    ann = client_for(shops_queried, "ann")
    response = ann.get("/admin/queries")
    assert response.status_code == 200, response.text
    shown = text_of(response.text)
    assert "shop_a_slow" in shown and "shop_b_only" not in shown
    assert re.search(r"o\.id > \$\d", shown)  # normalised by pg_stat_statements: no 7
    assert "<b>bold</b>" not in response.text and "<b>bold</b>" in shown  # escaped
    assert "bichat_result" not in shown  # the SQL tool's row-size wrapper is not shown
    assert 'aria-current="page"' in response.text and "Mean ms" in shown
    by_total = ann.get("/admin/queries?sort=total")
    assert by_total.status_code == 200 and "shop_a_slow" in text_of(by_total.text)
    olga = text_of(client_for(shops_queried, "olga").get("/admin/queries").text)
    assert "shop_b_only" in olga and "shop_a_slow" not in olga and "bold" not in olga


async def test_the_page_needs_an_admin_login(web_server):
    anonymous = client_for(web_server, None).get("/admin/queries")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/admin/login")
    assert client_for(web_server, "bob").get("/admin/queries").status_code == 403  # analyst
    bad_sort = client_for(web_server, "ann").get("/admin/queries?sort=rows")
    assert bad_sort.status_code == 400 and "mean or total" in text_of(bad_sort.text)


async def test_without_the_extension_the_page_says_how_to_enable_it(web_server):
    url = web_server.database_url
    await db_execute(url, "DROP EXTENSION pg_stat_statements")
    try:
        response = client_for(web_server, "ann").get("/admin/queries")
    finally:
        await db_execute(url, "CREATE EXTENSION pg_stat_statements")
    assert response.status_code == 200
    shown = text_of(response.text)
    assert "Query statistics are not enabled" in shown
    assert "not created in bichat's database" in shown and "bichat db init" in shown
