"""Product search's choice between the shared HNSW index and an exact comparison: a tenant
with a minority of the vectors is compared exactly, and the share that decides it is cached
(no count of every vector on each search) yet follows `db embed` at once and other
processes' changes within SHARE_TTL_S. Fake vectors: the choice does not depend on meaning."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from langchain_core.embeddings import Embeddings
from sqlalchemy import event, text

from app.errors import NotFound
from app.tools.search import EXACT_BELOW_SHARE, SHARE_TTL_S, ProductSearch
from app.tools.sql import SqlExecutor
from db.embed import embed_tenant
from db.models.business import EMBEDDING_DIMENSIONS
from db.seed import seed_tenant

END = date(2026, 11, 22)


class HashEmbeddings(Embeddings):
    """Deterministic unit vectors from the text's hash: fast, and spread like random ones."""

    model_name = "test-hash"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        raw = b"".join(
            hashlib.sha256(f"{i}:{text}".encode()).digest()
            for i in range(EMBEDDING_DIMENSIONS // 32)
        )
        vector = [b / 255 - 0.5 for b in raw]
        norm = sum(x * x for x in vector) ** 0.5
        return [x / norm for x in vector]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def embeddings() -> HashEmbeddings:
    return HashEmbeddings()


@pytest_asyncio.fixture(scope="module")
async def tenants(engine, settings, embeddings) -> dict[str, uuid.UUID]:
    """ "big" (about 750 products) and "small" (150), both embedded."""
    ids = {}
    for slug, seed, products in (("big", 41, None), ("small", 42, 150)):
        await seed_tenant(
            engine, settings, slug=slug, seed=seed, orders=30, end=END, products=products
        )
        async with engine.begin() as connection:
            ids[slug] = await connection.scalar(
                text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug}
            )
            await embed_tenant(connection, tenant_id=ids[slug], slug=slug, embeddings=embeddings)
    return ids


@pytest_asyncio.fixture
async def search(engine, settings, database_url, embeddings, tenants):
    """A fresh search (empty cache) on a clock the test moves, recording its strategies."""
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=database_url)
    search = ProductSearch(executor=executor, engine=engine, embeddings=embeddings, clock=Clock())
    search.strategies = []  # type: ignore[attr-defined]
    run = search.run

    async def recording_run(*args: Any, exact: bool = False, **options: Any) -> list[Any]:
        search.strategies.append("exact" if exact else "hnsw")  # type: ignore[attr-defined]
        return await run(*args, exact=exact, **options)

    search.run = recording_run  # type: ignore[method-assign]
    yield search
    await executor.close()


@pytest.fixture
def share_counts(engine):
    """How many times the vectors were counted for a share (statements on the owner engine)."""
    counted: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "reltuples" in statement or "count(*) FROM product_embeddings" in statement:
            counted.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    yield counted
    event.remove(engine.sync_engine, "before_cursor_execute", before)


async def strategy(search, tenants, slug: str, **kwargs: Any) -> str:
    await search.search(tenant_id=tenants[slug], tenant_slug=slug, query="tent", **kwargs)
    return search.strategies[-1]


async def test_minority_tenant_is_compared_exactly_and_majority_walks_the_index(search, tenants):
    assert await search.check_ready(tenants["small"], "small", None) < EXACT_BELOW_SHARE
    assert await search.check_ready(tenants["big"], "big", None) >= EXACT_BELOW_SHARE
    assert await strategy(search, tenants, "small") == "exact"
    assert await strategy(search, tenants, "big") == "hnsw"
    assert await strategy(search, tenants, "big", max_price=50) == "hnsw"


async def test_share_is_counted_once_per_ttl_not_per_search(search, tenants, share_counts):
    for _ in range(5):
        assert await strategy(search, tenants, "small") == "exact"
    assert len(share_counts) == 1
    search.clock.now += SHARE_TTL_S + 1
    assert await strategy(search, tenants, "small") == "exact"
    assert len(share_counts) == 2


async def test_strategy_follows_other_processes_after_ttl_and_db_embed_at_once(
    search, engine, embeddings, tenants
):
    big, small = tenants["big"], tenants["small"]
    assert await strategy(search, tenants, "small") == "exact"
    # Another process removes most of big's vectors: small now holds the majority.
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "DELETE FROM product_embeddings WHERE tenant_id = :t AND product_id NOT IN "
                "(SELECT product_id FROM product_embeddings WHERE tenant_id = :t LIMIT 10)"
            ),
            {"t": big},
        )
        await connection.execute(text("ANALYZE product_embeddings"))
    try:
        search.clock.now += SHARE_TTL_S / 2
        assert await strategy(search, tenants, "small") == "exact"  # cached
        search.clock.now += SHARE_TTL_S
        assert await strategy(search, tenants, "small") == "hnsw"
        assert await strategy(search, tenants, "big") == "exact"
    finally:
        # db embed in this process puts big's vectors back: the next search sees it at once
        async with engine.begin() as connection:
            again = await embed_tenant(connection, tenant_id=big, slug="big", embeddings=embeddings)
        assert again.embedded > 600
    assert await strategy(search, tenants, "small") == "exact"
    assert await strategy(search, tenants, "big") == "hnsw"
    assert small != big


async def test_first_embedding_is_searchable_at_once(search, engine, settings, embeddings):
    await seed_tenant(engine, settings, slug="late", seed=43, orders=10, end=END, products=150)
    async with engine.connect() as connection:
        late = await connection.scalar(text("SELECT id FROM tenants WHERE slug = 'late'"))
    with pytest.raises(NotFound, match="bichat db embed --tenant late"):
        await search.search(tenant_id=late, tenant_slug="late", query="tent")
    async with engine.begin() as connection:
        await embed_tenant(connection, tenant_id=late, slug="late", embeddings=embeddings)
    result = await search.search(tenant_id=late, tenant_slug="late", query="tent")
    assert result.results


async def test_a_full_page_through_the_index_despite_inactive_neighbours(search, engine, tenants):
    """A page of 50 on the index path: most of the nearest vectors are big's, but many of its
    products went inactive since they were embedded (their vectors stay until the next
    embed), so 100 neighbours leave fewer than 50 active ones: a wide page walks further."""
    big = tenants["big"]
    async with engine.begin() as connection:
        deactivated = list(
            await connection.scalars(
                text(
                    "UPDATE products SET is_active = false WHERE tenant_id = :t AND is_active "
                    "AND id % 10 < 6 RETURNING id"
                ),
                {"t": big},
            )
        )
    try:
        result = await search.search(
            tenant_id=big, tenant_slug="big", query="tent", limit=50, weights=(1.0, 0.0)
        )
        assert search.strategies[-1] == "hnsw"
        assert len(result.results) == 50
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE products SET is_active = true WHERE id = ANY(:ids)"),
                {"ids": deactivated},
            )
