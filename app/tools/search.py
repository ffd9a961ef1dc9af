"""Product search: meaning (pgvector) and words (full text), fused, filtered, tenant-scoped.

Runs on the tenant's reader pool (the same role and row-level security as the SQL tool, and
the same fair turn at the shop's connections), in one read-only transaction:
- vector candidates: cosine distance of the query's embedding, same model only;
- keyword candidates: ``websearch_to_tsquery`` on the weighted product document; every word
  must match, so the list is short and precise (SKUs, brands, exact product words) and stays
  empty for paraphrases instead of adding noise;
- weighted reciprocal-rank fusion: ``VECTOR_WEIGHT / (K + rank_v) + KEYWORD_WEIGHT /
  (K + rank_k)``. The all-words gate keeps the keyword list free of the noise that makes a
  textbook fusion of vector and TF-IDF lists worse than vectors alone, so it can weigh more.
Filters are SQL: a category includes its descendants, prices are inclusive, ``in_stock``
means a positive stock, inactive products never appear. Every search is logged.
"""

from __future__ import annotations

import difflib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.embeddings import model_name, vector_literal
from app.errors import InvalidInput, NotFound
from app.tools.sql import SqlExecutor
from db import embed

CANDIDATES = 50
RRF_K = 60
VECTOR_WEIGHT = 1.0
# Above the vector weight: every query word must match, so a keyword hit is strong evidence
# (an exact SKU or brand); paraphrases produce no keyword hits at all.
KEYWORD_WEIGHT = 1.5
# Nearest neighbours taken from the HNSW index before row-level security and the filters
# thin them out; hnsw.ef_search is set to match (pgvector 0.6 returns at most ef_search
# rows from an index scan). 100 gives recall@10 1.000 at 100,000 products with the index
# built as m = 24, ef_construction = 128 (migration 0004; README, search benchmark).
# Filters (and inactive products, whose vectors stay until the next embed) can remove most
# neighbours, so a filtered search, or one for a page of more than WIDE_PAGE, walks further.
NEIGHBOURS = 100
NEIGHBOURS_FILTERED = 1000
WIDE_PAGE = 20
EXACT_BELOW_SHARE = 0.5  # a tenant with less than half of all vectors is searched exactly
# How long a tenant's share of the vectors is reused before it is counted again; `db embed`
# in this process resets it at once (db.embed.generation).
SHARE_TTL_S = 60.0
MAX_LIMIT = 50

SEARCH_SQL_TEMPLATE = f"""
WITH RECURSIVE scope AS (
    SELECT id FROM categories WHERE slug = $2
    UNION ALL
    SELECT c.id FROM categories c JOIN scope s ON c.parent_id = s.id
), nearest AS (
    -- {{how}}: tenant scope and filters then apply to these candidates
    SELECT e.product_id AS id, e.embedding <=> $6::vector AS distance
    FROM product_embeddings e
    WHERE e.model = $7
    ORDER BY {{order}}
    LIMIT {{neighbours}}
), vec AS (
    SELECT n.id, row_number() OVER (ORDER BY n.distance, n.id) AS rank
    FROM nearest n JOIN products p ON p.id = n.id
    WHERE {{filters}}
    ORDER BY n.distance, n.id
    LIMIT {CANDIDATES}
), kw AS (
    -- through the GIN index (see migration 0003), then the filters on its candidates
    SELECT k.product_id AS id, row_number() OVER (ORDER BY k.rank DESC, k.product_id) AS rank
    FROM bichat_keyword_search($1, {{neighbours}}) k JOIN products p ON p.id = k.product_id
    WHERE {{filters}}
    ORDER BY k.rank DESC, k.product_id
    LIMIT {CANDIDATES}
), fused AS (
    SELECT coalesce(vec.id, kw.id) AS id,
           coalesce($9::float8 / ({RRF_K} + vec.rank), 0)
             + coalesce($10::float8 / ({RRF_K} + kw.rank), 0) AS score,
           vec.rank AS vector_rank, kw.rank AS keyword_rank
    FROM vec FULL JOIN kw ON kw.id = vec.id
), best AS (  -- the page first, then its details: only these rows are joined to products
    SELECT * FROM fused WHERE score > 0 ORDER BY score DESC, id LIMIT $8
), paths AS (
    SELECT id, name::text AS path FROM categories WHERE parent_id IS NULL
    UNION ALL
    SELECT c.id, p.path || ' > ' || c.name FROM categories c JOIN paths p ON c.parent_id = p.id
)
SELECT p.sku, p.name, p.brand, p.price, p.stock_quantity, paths.path AS category_path,
       b.score, b.vector_rank, b.keyword_rank
FROM best b JOIN products p ON p.id = b.id LEFT JOIN paths ON paths.id = p.category_id
ORDER BY b.score DESC, b.id
""".replace(
    "{filters}",
    "p.is_active AND ($2::text IS NULL OR p.category_id IN (SELECT id FROM scope))"
    " AND ($3::numeric IS NULL OR p.price >= $3) AND ($4::numeric IS NULL OR p.price <= $4)"
    " AND (NOT $5::bool OR p.stock_quantity > 0)",
)
# The neighbour count is written into the SQL, not passed as a parameter: a cached generic
# plan cannot see a parameter's value and may then prefer a full scan to the HNSW index.
SEARCH_SQL = {
    count: SEARCH_SQL_TEMPLATE.replace("{neighbours}", str(count))
    .replace("{how}", "the HNSW index walks first")
    .replace("{order}", "e.embedding <=> $6::vector")
    for count in (NEIGHBOURS, NEIGHBOURS_FILTERED)
}
# For a tenant that holds a minority of all vectors, the shared index's nearest neighbours
# are mostly other tenants' (removed by row-level security afterwards): its own vectors are
# few, so they are compared exactly instead (the expression below cannot use the index).
EXACT_SEARCH_SQL = (
    SEARCH_SQL_TEMPLATE.replace("{neighbours}", str(NEIGHBOURS_FILTERED))
    .replace("{how}", "an exact comparison with the tenant's own vectors")
    .replace("{order}", "(e.embedding <=> $6::vector) + 0")
)


@dataclass
class ProductHit:
    sku: str
    name: str
    brand: str | None
    price: float
    stock_quantity: int
    category_path: str | None
    score: float
    matched: list[str]


@dataclass
class SearchResult:
    query: str
    filters: dict[str, Any]
    results: list[ProductHit] = field(default_factory=list)
    response_time_ms: float = 0.0
    search_type: str = "hybrid"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_search(
    query: str, *, min_price: float | None, max_price: float | None, limit: int
) -> str:
    cleaned = query.strip()
    if not cleaned:
        raise InvalidInput(
            "the search query is empty: describe what you are looking for", code="empty_query"
        )
    for name, value in (("min_price", min_price), ("max_price", max_price)):
        if value is not None and value < 0:
            raise InvalidInput(f"{name} must not be negative", code="invalid_price")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidInput(
            f"min_price ({min_price}) is greater than max_price ({max_price})",
            code="invalid_price_range",
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    return cleaned


def hit(row: Any) -> ProductHit:
    matched = [
        name
        for name, rank in (("vector", row["vector_rank"]), ("keyword", row["keyword_rank"]))
        if rank is not None
    ]
    price = row["price"]
    return ProductHit(
        sku=row["sku"],
        name=row["name"],
        brand=row["brand"],
        price=float(price) if isinstance(price, Decimal) else price,
        stock_quantity=row["stock_quantity"],
        category_path=row["category_path"],
        score=round(float(row["score"]), 6),
        matched=matched,
    )


SHARE_SQL = text("""
SELECT (SELECT count(*) FROM product_embeddings WHERE tenant_id = :t AND model = :m),
       (SELECT reltuples FROM pg_class WHERE oid = 'product_embeddings'::regclass)
""")
# Only when the table has never been analysed (reltuples -1); `db embed` analyses it.
TOTAL_SQL = text("SELECT count(*) FROM product_embeddings")


class ProductSearch:
    """Search for one process: the reader pools of ``executor``, the owner ``engine`` (for
    checks and the search log) and one embedder. Keep one per process: it caches each
    tenant's share of the vectors."""

    def __init__(
        self,
        *,
        executor: SqlExecutor,
        engine: AsyncEngine,
        embeddings: Embeddings,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.executor, self.engine, self.embeddings = executor, engine, embeddings
        self.model = model_name(embeddings)
        self.clock = clock
        # tenant -> (share, db.embed.generation when counted, time counted)
        self.shares: dict[uuid.UUID, tuple[float, int, float]] = {}

    async def search(
        self,
        *,
        tenant_id: uuid.UUID,
        tenant_slug: str,
        query: str,
        category: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        limit: int = 10,
        chat_session_id: uuid.UUID | None = None,
        weights: tuple[float, float] = (VECTOR_WEIGHT, KEYWORD_WEIGHT),
        requester: str = "anyone",
    ) -> SearchResult:
        """``weights`` (vector, keyword): (1, 0) or (0, 1) ranks by one signal alone;
        ``requester`` waits its turn at the shop's connections as the SQL tool's calls do."""
        started = time.perf_counter()
        cleaned = validate_search(query, min_price=min_price, max_price=max_price, limit=limit)
        share = await self.check_ready(tenant_id, tenant_slug, category)
        filters = {
            k: v
            for k, v in {
                "category": category,
                "min_price": min_price,
                "max_price": max_price,
                "in_stock": in_stock,
            }.items()
            if v is not None
        }
        vector = self.embeddings.embed_query(cleaned)
        rows = await self.run(
            tenant_id,
            cleaned,
            vector,
            category,
            min_price,
            max_price,
            bool(in_stock),
            limit,
            weights,
            exact=share < EXACT_BELOW_SHARE,
            requester=requester,
        )
        result = SearchResult(cleaned, filters, [hit(r) for r in rows])
        result.response_time_ms = round((time.perf_counter() - started) * 1000, 2)
        await self.log(tenant_id, result, chat_session_id)
        return result

    async def run(
        self,
        tenant_id: uuid.UUID,
        query: str,
        vector: list[float],
        category: str | None,
        min_price: float | None,
        max_price: float | None,
        in_stock: bool,
        limit: int,
        weights: tuple[float, float],
        exact: bool = False,
        requester: str = "anyone",
    ) -> list[Any]:
        literal = vector_literal(vector)
        reader = self.executor.reader(tenant_id, requester=requester)
        async with reader as connection, connection.transaction(readonly=True):
            filtered = category is not None or min_price is not None or max_price is not None
            wide = filtered or in_stock or limit > WIDE_PAGE
            neighbours = NEIGHBOURS_FILTERED if wide else NEIGHBOURS
            await connection.execute(f"SET LOCAL hnsw.ef_search = {neighbours}")
            return list(
                await connection.fetch(
                    EXACT_SEARCH_SQL if exact else SEARCH_SQL[neighbours],
                    query,
                    category,
                    None if min_price is None else Decimal(str(min_price)),
                    None if max_price is None else Decimal(str(max_price)),
                    in_stock,
                    literal,
                    self.model,
                    limit,
                    *weights,
                )
            )

    async def check_ready(
        self, tenant_id: uuid.UUID, tenant_slug: str, category: str | None
    ) -> float:
        """Refuse what cannot be searched; returns the tenant's share of all vectors."""
        share = await self.vector_share(tenant_id, tenant_slug)
        if category is not None:
            async with self.engine.connect() as connection:
                slugs = list(
                    await connection.scalars(
                        text("SELECT slug FROM categories WHERE tenant_id = :t"), {"t": tenant_id}
                    )
                )
            if category not in slugs:
                close = difflib.get_close_matches(category, slugs, n=3, cutoff=0.4)
                hint = f" Closest: {', '.join(close)}." if close else ""
                raise NotFound(f"unknown category {category!r}.{hint}", code="unknown_category")
        return share

    async def vector_share(self, tenant_id: uuid.UUID, tenant_slug: str) -> float:
        """The tenant's vectors of this model as a share of all vectors in the shared index,
        which decides between the HNSW walk and an exact comparison.

        Counting every vector on each search was the slowest part of a search at 100,000
        products, so the share is cached for ``SHARE_TTL_S`` (and recounted at once after
        ``db embed`` in this process). A recount counts the tenant's own vectors (its index)
        and takes the total from the planner's row estimate, which ``db embed`` refreshes
        with ANALYZE. A tenant without vectors is never cached: its first embedding counts.
        """
        now = self.clock()
        cached = self.shares.get(tenant_id)
        if cached and cached[1] == embed.generation and now - cached[2] < SHARE_TTL_S:
            return cached[0]
        generation = embed.generation
        async with self.engine.connect() as connection:
            own, estimate = (
                await connection.execute(SHARE_SQL, {"t": tenant_id, "m": self.model})
            ).one()
            if own and estimate < 0:  # never analysed: no estimate yet
                estimate = await connection.scalar(TOTAL_SQL)
        if not own:
            self.shares.pop(tenant_id, None)
            raise NotFound(
                f"tenant {tenant_slug!r} has no product embeddings for {self.model} yet: run "
                f"`bichat db embed --tenant {tenant_slug}`",
                code="no_embeddings",
            )
        share = min(1.0, float(own) / max(float(estimate), 1.0))
        self.shares[tenant_id] = (share, generation, now)
        return share

    async def log(
        self, tenant_id: uuid.UUID, result: SearchResult, chat_session_id: uuid.UUID | None
    ) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO search_logs (tenant_id, chat_session_id, query, filters, search_type,"
                    " results_count, response_time_ms) VALUES (:t, :s, :q, CAST(:f AS jsonb), :k, :n,"
                    " :ms)"
                ),
                {
                    "t": tenant_id,
                    "s": chat_session_id,
                    "q": result.query,
                    "f": json.dumps(result.filters),
                    "k": result.search_type,
                    "n": len(result.results),
                    "ms": result.response_time_ms,
                },
            )
