"""Product search: relevance on a judged set (hybrid vs each signal alone), exact filters,
tenant scope, freshness of embeddings, logging and bad input."""

from __future__ import annotations

import json
import statistics
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from app.embeddings import LocalEmbeddings
from app.errors import InvalidInput, NotFound
from app.tools.search import KEYWORD_WEIGHT, VECTOR_WEIGHT, ProductSearch
from app.tools.sql import SqlExecutor
from db.embed import embed_tenant
from db.reads import read_row
from db.seed import seed_tenant

JUDGED = json.loads((Path(__file__).parents[2] / "data" / "search" / "relevance.json").read_text())
END = date(2026, 11, 22)


@pytest.fixture(scope="module")
def embeddings():
    return LocalEmbeddings()


@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings, embeddings):
    """A seeded, embedded shop, plus a second tenant that must never leak into results."""
    ids = {}
    for slug, seed in (("search-a", 31), ("search-b", 32)):
        await seed_tenant(engine, settings, slug=slug, seed=seed, orders=100, end=END)
        async with engine.begin() as connection:
            ids[slug] = await connection.scalar(
                text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug}
            )
            await embed_tenant(connection, tenant_id=ids[slug], slug=slug, embeddings=embeddings)
    return ids


@pytest_asyncio.fixture(scope="module")
async def search(engine, settings, database_url, embeddings, shop):
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=database_url)
    yield ProductSearch(executor=executor, engine=engine, embeddings=embeddings)
    await executor.close()


async def relevant_skus(engine, tenant_id, leaves) -> set[str]:
    async with engine.connect() as connection:
        return set(
            await connection.scalars(
                text(
                    "SELECT p.sku FROM products p JOIN categories c ON c.id = p.category_id "
                    "WHERE p.tenant_id = :t AND p.is_active AND c.slug = ANY(:l)"
                ),
                {"t": tenant_id, "l": leaves},
            )
        )


async def recall_at_5(search, engine, tenant_id, weights) -> float:
    scores = []
    for item in JUDGED["queries"]:
        relevant = await relevant_skus(engine, tenant_id, item["relevant"])
        result = await search.search(
            tenant_id=tenant_id,
            tenant_slug="search-a",
            query=item["query"],
            limit=5,
            weights=weights,
        )
        top = [h.sku for h in result.results]
        scores.append(len(set(top) & relevant) / min(5, len(relevant)))
    return statistics.mean(scores)


async def test_hybrid_recall_is_at_least_each_signal_alone(search, engine, shop):
    tenant = shop["search-a"]
    assert len(JUDGED["queries"]) >= 20
    hybrid = await recall_at_5(search, engine, tenant, (VECTOR_WEIGHT, KEYWORD_WEIGHT))
    vector = await recall_at_5(search, engine, tenant, (1.0, 0.0))
    keyword = await recall_at_5(search, engine, tenant, (0.0, 1.0))
    print(f"recall@5 hybrid {hybrid:.3f}, vector {vector:.3f}, keyword {keyword:.3f}")
    assert hybrid >= vector and hybrid >= keyword
    assert hybrid >= 0.65  # measured 0.72+ on this set (README)


async def test_exact_sku_and_brand_words_come_first(search, engine, shop):
    tenant = shop["search-a"]
    sku, brand, _leaf = await read_row(
        engine,
        "SELECT p.sku, p.brand, c.slug FROM products p JOIN categories c ON c.id = p.category_id "
        "WHERE p.tenant_id = :t AND p.is_active AND c.slug = 'headphones' ORDER BY p.sku LIMIT 1",
        {"t": tenant},
    )
    by_sku = await search.search(tenant_id=tenant, tenant_slug="search-a", query=sku, limit=3)
    assert by_sku.results[0].sku == sku and "keyword" in by_sku.results[0].matched
    by_brand = await search.search(
        tenant_id=tenant, tenant_slug="search-a", query=f"{brand} headphones", limit=5
    )
    assert all(h.brand == brand for h in by_brand.results[:3])


async def test_filters_are_exact(search, engine, shop):
    tenant = shop["search-a"]
    result = await search.search(
        tenant_id=tenant,
        tenant_slug="search-a",
        query="gift for someone who camps",
        category="outdoor-camping",
        min_price=20,
        max_price=40,
        in_stock=True,
        limit=50,
    )
    assert result.results
    for h in result.results:
        assert 20 <= h.price <= 40 and h.stock_quantity > 0
        assert h.category_path.startswith("Outdoor & Camping > ")  # descendants of the department
    async with engine.connect() as connection:
        inactive = set(
            await connection.scalars(
                text("SELECT sku FROM products WHERE tenant_id = :t AND NOT is_active"),
                {"t": tenant},
            )
        )
    everything = await search.search(
        tenant_id=tenant, tenant_slug="search-a", query="tent", limit=50
    )
    assert not inactive & {h.sku for h in everything.results}


async def test_results_stay_in_the_tenant(search, engine, shop):
    a, b = shop["search-a"], shop["search-b"]
    async with engine.connect() as connection:
        b_skus = set(
            await connection.scalars(
                text("SELECT sku FROM products WHERE tenant_id = :t"), {"t": b}
            )
        )
        a_skus = set(
            await connection.scalars(
                text("SELECT sku FROM products WHERE tenant_id = :t"), {"t": a}
            )
        )
        b_names = set(
            await connection.scalars(
                text("SELECT name FROM products WHERE tenant_id = :t"), {"t": b}
            )
        )
    result = await search.search(
        tenant_id=a, tenant_slug="search-a", query="waterproof jacket", limit=50
    )
    assert {h.sku for h in result.results} <= a_skus
    assert b_skus  # (SKUs repeat across shops; product names are what differ)
    assert not {h.name for h in result.results} & b_names


async def test_every_search_is_logged(search, engine, shop):
    tenant = shop["search-a"]
    result = await search.search(
        tenant_id=tenant, tenant_slug="search-a", query="quiet blender", max_price=90
    )
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT query, filters, results_count, response_time_ms, search_type FROM search_logs "
                    "WHERE tenant_id = :t ORDER BY id DESC LIMIT 1"
                ),
                {"t": tenant},
            )
        ).one()
    assert row.query == "quiet blender" and row.filters == {"max_price": 90}
    assert (
        row.results_count == len(result.results)
        and row.response_time_ms > 0
        and row.search_type == "hybrid"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"query": "   "}, InvalidInput, "empty"),
        (
            {"query": "tent", "min_price": 50, "max_price": 10},
            InvalidInput,
            "greater than max_price",
        ),
        ({"query": "tent", "min_price": -1}, InvalidInput, "negative"),
        ({"query": "tent", "limit": -3}, InvalidInput, "limit"),
        ({"query": "tent", "limit": 0}, InvalidInput, "limit"),
        ({"query": "tent", "category": "tent"}, NotFound, "Closest: tents"),
    ],
)
async def test_bad_input_is_refused_clearly(search, shop, kwargs, error, message):
    with pytest.raises(error, match=message):
        await search.search(tenant_id=shop["search-a"], tenant_slug="search-a", **kwargs)


async def test_a_tenant_without_embeddings_is_told_what_to_run(search, engine, settings):
    await seed_tenant(engine, settings, slug="search-new", seed=33, orders=50, end=END)
    async with engine.connect() as connection:
        tenant = await connection.scalar(text("SELECT id FROM tenants WHERE slug = 'search-new'"))
    with pytest.raises(NotFound, match="bichat db embed --tenant search-new"):
        await search.search(tenant_id=tenant, tenant_slug="search-new", query="tent")


async def test_embed_skips_unchanged_products_and_follows_changes(engine, shop, embeddings):
    tenant = shop["search-b"]
    async with engine.begin() as connection:
        again = await embed_tenant(
            connection, tenant_id=tenant, slug="search-b", embeddings=embeddings
        )
        assert again.embedded == 0 and again.unchanged > 600
        await connection.execute(
            text(
                "UPDATE products SET description = description || ' Now lighter.' WHERE tenant_id = :t "
                "AND sku = (SELECT min(sku) FROM products WHERE tenant_id = :t AND is_active)"
            ),
            {"t": tenant},
        )
        await connection.execute(
            text(
                "UPDATE products SET is_active = false WHERE tenant_id = :t "
                "AND sku = (SELECT max(sku) FROM products WHERE tenant_id = :t AND is_active)"
            ),
            {"t": tenant},
        )
        changed = await embed_tenant(
            connection, tenant_id=tenant, slug="search-b", embeddings=embeddings
        )
    assert (changed.embedded, changed.removed) == (1, 1)


async def test_search_products_tool_returns_json(engine, search, shop):
    from app.tools import registry, search_products
    from tests.factories import tool_context

    context = await tool_context(engine, "search-a", search=search)

    async def call(**arguments) -> dict:
        reply = await registry.invoke(search_products.TOOL, context, arguments)
        return json.loads(reply.content)

    found = await call(query="stay dry in a downpour", limit=3)
    assert len(found["results"]) == 3 and found["search_type"] == "hybrid"
    refused = await call(query="tent", category="tent")
    assert refused["error"]["code"] == "unknown_category"
