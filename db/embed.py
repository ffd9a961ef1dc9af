"""``bichat db embed``: keep a tenant's product vectors in step with its catalogue.

Each active product is embedded from its name, brand, category path, description and key
specifications. A product whose text (and embedding model) has not changed since its vector
was made is skipped; vectors of inactive products are removed (deleted products lose theirs
by cascade); vectors of another model are replaced.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.vectors import model_name, vector_literal

EMBED_BATCH = 256
MAX_SPECS = 6

# Bumped whenever embed_tenant adds, replaces or removes vectors: searches in this process
# then recompute their cached share of vectors (app/tools/search.py); other processes see
# the change when their cache expires.
generation = 0

PRODUCTS_SQL = text("""
WITH RECURSIVE paths AS (
    SELECT id, name::text AS path FROM categories WHERE tenant_id = :t AND parent_id IS NULL
    UNION ALL
    SELECT c.id, p.path || ' > ' || c.name FROM categories c JOIN paths p ON c.parent_id = p.id
)
SELECT p.id, p.name, p.brand, p.description, p.specifications, paths.path,
       e.content_sha256, e.model
FROM products p
LEFT JOIN paths ON paths.id = p.category_id
LEFT JOIN product_embeddings e ON e.product_id = p.id
WHERE p.tenant_id = :t AND p.is_active
ORDER BY p.id
""")
UPSERT_SQL = text("""
INSERT INTO product_embeddings (product_id, tenant_id, model, content_sha256, embedding, updated_at)
VALUES (:product_id, :t, :model, :sha, CAST(:embedding AS vector), now())
ON CONFLICT (product_id) DO UPDATE SET model = EXCLUDED.model,
  content_sha256 = EXCLUDED.content_sha256, embedding = EXCLUDED.embedding, updated_at = now()
""")
REMOVE_INACTIVE_SQL = text("""
DELETE FROM product_embeddings e USING products p
WHERE e.product_id = p.id AND p.tenant_id = :t AND NOT p.is_active
""")


@dataclass
class EmbedReport:
    tenant: str
    model: str
    embedded: int
    unchanged: int
    removed: int


def product_text(row: Any) -> str:
    """What a product is embedded from (and what its content hash covers)."""
    specs = row.specifications or {}
    spec_text = "; ".join(
        f"{k.replace('_', ' ')}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in list(specs.items())[:MAX_SPECS]
    )
    parts = [
        row.name,
        f"Brand: {row.brand}" if row.brand else "",
        f"Category: {row.path}" if row.path else "",
        row.description or "",
        f"Specifications: {spec_text}" if spec_text else "",
    ]
    return "\n".join(p for p in parts if p)


def content_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


async def embed_tenant(
    connection: AsyncConnection,
    *,
    tenant_id: uuid.UUID,
    slug: str,
    embeddings: Embeddings,
    advance: Callable[[int, int], None] = lambda done, total: None,
) -> EmbedReport:
    """Bring the tenant's vectors up to date (inside the caller's transaction)."""
    model = model_name(embeddings)
    removed = (await connection.execute(REMOVE_INACTIVE_SQL, {"t": tenant_id})).rowcount
    rows = (await connection.execute(PRODUCTS_SQL, {"t": tenant_id})).all()
    pending = []
    for row in rows:
        content = product_text(row)
        sha = content_sha256(content)
        if row.content_sha256 != sha or row.model != model:
            pending.append((row.id, sha, content))
    for start in range(0, len(pending), EMBED_BATCH):
        batch = pending[start : start + EMBED_BATCH]
        vectors = embeddings.embed_documents([content for _, _, content in batch])
        await connection.execute(
            UPSERT_SQL,
            [
                {
                    "product_id": pid,
                    "t": tenant_id,
                    "model": model,
                    "sha": sha,
                    "embedding": vector_literal(vector),
                }
                for (pid, sha, _), vector in zip(batch, vectors, strict=True)
            ],
        )
        advance(start + len(batch), len(pending))
    if pending:
        await connection.execute(text("ANALYZE product_embeddings"))
    if pending or removed > 0:
        global generation
        generation += 1
    return EmbedReport(slug, model, len(pending), len(rows) - len(pending), max(removed, 0))
