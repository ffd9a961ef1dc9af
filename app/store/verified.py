"""Verified questions: the question -> SQL library the prompt borrows examples from and the
offline model answers with.

``prompts/examples.yaml`` is the shared library (``tenant_id`` NULL, source ``examples``);
admins add tenant-specific ones later. Vectors are stored with their model's name and only
compared with a question embedded by the same model.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from langchain_core.embeddings import Embeddings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.embeddings import model_name, vector_literal
from db.reads import read_column

EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "prompts" / "examples.yaml"
SHARED_SOURCE = "examples"
SYNC_LOCK_KEY = 0x6269636861740005  # advisory lock: one process syncs the library at a time

SIMILAR_SQL = text(
    "SELECT id, question, sql, 1 - (embedding <=> CAST(:v AS vector)) AS similarity "
    "FROM verified_queries WHERE is_active AND embedding_model = :model "
    "AND (tenant_id IS NULL OR tenant_id = :t) "
    "ORDER BY embedding <=> CAST(:v AS vector) LIMIT :k"
)


@dataclass(frozen=True)
class Example:
    question: str
    sql: str


@dataclass(frozen=True)
class Match:
    id: int
    question: str
    sql: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "sql": self.sql, "similarity": self.similarity}


@functools.cache
def load_examples(path: Path = EXAMPLES_FILE) -> tuple[Example, ...]:
    data = yaml.safe_load(path.read_text())
    return tuple(
        Example(question=" ".join(item["question"].split()), sql=item["sql"].strip())
        for item in data["examples"]
    )


async def sync_examples(
    engine: AsyncEngine, *, embeddings: Embeddings, examples: tuple[Example, ...] | None = None
) -> int:
    """Make the shared library match ``examples.yaml``: add new pairs, update changed SQL,
    retire removed ones, embed what lacks a vector of this model. Returns how many were embedded."""
    wanted = {e.question: e.sql for e in (examples or load_examples())}
    model = model_name(embeddings)
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYNC_LOCK_KEY})
        await upsert_shared(connection, wanted)
        pending = (
            await connection.execute(
                text(
                    "SELECT id, question FROM verified_queries WHERE tenant_id IS NULL "
                    "AND source = :s AND is_active AND embedding_model IS DISTINCT FROM :m"
                ),
                {"s": SHARED_SOURCE, "m": model},
            )
        ).all()
        if pending:
            vectors = await asyncio.to_thread(embeddings.embed_documents, [q for _, q in pending])
            await store_vectors(connection, [i for i, _ in pending], vectors, model=model)
    return len(pending)


async def upsert_shared(connection: AsyncConnection, wanted: dict[str, str]) -> None:
    rows = await connection.execute(
        text(
            "SELECT id, question, sql, is_active FROM verified_queries "
            "WHERE tenant_id IS NULL AND source = :s"
        ),
        {"s": SHARED_SOURCE},
    )
    existing = {row.question: row for row in rows}
    for question, sql in wanted.items():
        row = existing.get(question)
        if row is None:
            await connection.execute(
                text("INSERT INTO verified_queries (question, sql, source) VALUES (:q, :sql, :s)"),
                {"q": question, "sql": sql, "s": SHARED_SOURCE},
            )
        elif row.sql != sql or not row.is_active:
            await connection.execute(
                text(
                    "UPDATE verified_queries SET sql = :sql, is_active = true, "
                    "verified_at = now() WHERE id = :id"
                ),
                {"sql": sql, "id": row.id},
            )
    gone = [row.id for q, row in existing.items() if q not in wanted and row.is_active]
    if gone:
        await connection.execute(
            text("UPDATE verified_queries SET is_active = false WHERE id = ANY(:ids)"),
            {"ids": gone},
        )


async def store_vectors(
    connection: AsyncConnection, ids: list[int], vectors: list[list[float]], *, model: str
) -> None:
    await connection.execute(
        text(
            "UPDATE verified_queries SET embedding = CAST(:v AS vector), embedding_model = :m "
            "WHERE id = :id"
        ),
        [{"id": i, "v": vector_literal(v), "m": model} for i, v in zip(ids, vectors, strict=True)],
    )


async def similar_questions(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    vector: list[float],
    model: str,
    limit: int = 5,
) -> list[Match]:
    """The active verified questions (shared and the tenant's) closest to ``vector``."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            SIMILAR_SQL, {"v": vector_literal(vector), "model": model, "t": tenant_id, "k": limit}
        )
        return [Match(r.id, r.question, r.sql, round(float(r.similarity), 4)) for r in rows]


async def starter_questions(engine: AsyncEngine, *, limit: int) -> list[str]:
    """The first shared questions, offered as a new chat's starters."""
    return await read_column(
        engine,
        "SELECT question FROM verified_queries WHERE is_active AND tenant_id IS NULL "
        "ORDER BY id LIMIT :n",
        {"n": limit},
    )
