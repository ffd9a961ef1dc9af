"""The ``bundle_rules`` tool: its rules and its summary equal hand-written SQL over
``bundle_rules``, its filters hold, a product given as text cannot change the SQL, and its SQL
is listed like any query's."""

from __future__ import annotations

from datetime import date

import pytest
import pytest_asyncio

from app.tools import registry
from app.tools.sql import SqlExecutor
from db.seed import seed_tenant
from tests.factories import tool_context

RULES = (
    "SELECT a.sku, c.sku, r.lift, r.confidence FROM bundle_rules r "
    "JOIN products a ON a.id = r.antecedent_product_id "
    "JOIN products c ON c.id = r.consequent_product_id"
)


@pytest_asyncio.fixture(scope="module")
async def executor(engine, settings, database_url):
    await seed_tenant(
        engine, settings, slug="rules-shop", seed=31, orders=600, end=date(2026, 11, 22)
    )
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=database_url)
    yield executor
    await executor.close()


@pytest_asyncio.fixture
async def context(engine, executor):
    return await tool_context(engine, "rules-shop", executor=executor)


async def call(context, **arguments):
    reply = await registry.invoke(registry.tool_named(registry.BUNDLE_RULES), context, arguments)
    assert reply.error is None, reply.error
    return reply.output


async def rows(executor, context, sql):
    return (await executor.run(tenant_id=context.tenant.id, sql=sql)).rows


async def test_the_top_rules_by_lift_in_a_stable_order(context, executor):
    output = await call(context, top=5)
    expected = await rows(executor, context, RULES + " ORDER BY r.lift DESC, a.sku, c.sku LIMIT 5")
    assert [[r[0], r[2], r[6]] for r in output["rows"]] == [[e[0], e[1], e[2]] for e in expected]
    assert output["columns"][:4] == [
        "antecedent_sku",
        "antecedent_name",
        "consequent_sku",
        "consequent_name",
    ]
    assert registry.sql_of(registry.BUNDLE_RULES, {"top": 5}, output) == output["sql"]


async def test_a_product_by_sku_or_name_and_minimums(context, executor):
    top = (await call(context, top=1))["rows"][0]
    by_sku = await call(context, product=top[0])
    by_name = await call(context, product=top[1].upper())
    assert by_sku["rows"] == by_name["rows"] and {r[0] for r in by_sku["rows"]} == {top[0]}
    strong = await call(context, min_lift=2.0, min_confidence=0.1, top=100)
    assert strong["rows"] and all(r[6] >= 2.0 and r[5] >= 0.1 for r in strong["rows"])


async def test_the_summary_counts_rules_and_products_on_either_side(context, executor):
    output = await call(context, summary=True, decimals=4)
    (row,) = output["rows"]
    assert output["columns"] == [
        "rules", "products", "average_support", "average_confidence", "average_lift",
    ]  # fmt: skip
    (truth,) = await rows(
        executor,
        context,
        "SELECT count(*), round(avg(confidence)::numeric, 4), (SELECT count(*) FROM ("
        "SELECT antecedent_product_id FROM bundle_rules UNION "
        "SELECT consequent_product_id FROM bundle_rules) ids) FROM bundle_rules",
    )
    assert (row[0], row[3], row[1]) == (truth[0], truth[1], truth[2]) and row[0] > 0


@pytest.mark.parametrize("product", ["x' OR '1'='1", "'; DROP TABLE bundle_rules; --"])
async def test_a_product_is_a_value_never_sql(context, product):
    """Quoted as a value: it names no product (said so, not an empty list), and the rules are
    all still there."""
    tool = registry.tool_named(registry.BUNDLE_RULES)
    reply = await registry.invoke(tool, context, {"product": product})
    assert reply.output is None and reply.error.startswith("unknown_product")
    assert product in reply.error and (await call(context))["rows"]


async def test_bad_arguments_are_refused_with_the_reason(context):
    tool = registry.tool_named(registry.BUNDLE_RULES)
    reply = await registry.invoke(tool, context, {"order_by": "price"})
    assert reply.output is None and reply.error.startswith("invalid_input")
