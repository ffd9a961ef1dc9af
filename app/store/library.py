"""The verified-query library as the admin pages browse it: the tenant's own questions and the
shared ones (``prompts/examples.yaml``, tenant NULL), searched by words and read a page at a
time (the shared library alone is some fifty queries; a shop adds its own over time).

Adding, editing and retiring stay in ``app.agent.curation`` (guard, dry run, embedding).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.review import check_text, choice, parse_count

PER_PAGE = 20
SCOPES = ("all", "own", "shared")
SCOPE_CONDITIONS = {
    "all": "(v.tenant_id = :t OR v.tenant_id IS NULL)",
    "own": "v.tenant_id = :t",
    "shared": "v.tenant_id IS NULL",
}


@dataclass(frozen=True)
class LibraryQuery:
    """What the admin asked to see: words (all of them, in the question or the SQL), whose
    queries, retired ones too or not, which page."""

    words: str | None = None
    scope: str = "all"
    retired: bool = False
    page: int = 1

    def query_items(self, **change: Any) -> dict[str, str]:
        items = {"q": self.words or "", "scope": self.scope, "retired": "1" if self.retired else ""}
        items["page"] = str(self.page)
        items.update({k: str(v) for k, v in change.items()})
        return {k: v for k, v in items.items() if v and not (k == "scope" and v == "all")}


def parse_library_query(values: Mapping[str, str | None]) -> LibraryQuery:
    words = (check_text(values.get("q")) or "").strip() or None
    return LibraryQuery(
        words=words,
        scope=choice(values.get("scope") or None, SCOPES, "scope") or "all",
        retired=values.get("retired") in ("1", "true", "on"),
        page=parse_count(values.get("page") or None, "page", default=1, maximum=100_000),
    )


@dataclass
class LibraryEntry:
    id: int
    question: str
    sql: str
    shared: bool
    source: str
    verified_at: datetime
    is_active: bool


@dataclass
class LibraryPage:
    entries: list[LibraryEntry]
    total: int
    query: LibraryQuery

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(query: LibraryQuery) -> tuple[str, dict[str, Any]]:
    where = [SCOPE_CONDITIONS[query.scope]]
    params: dict[str, Any] = {}
    if not query.retired:
        where.append("v.is_active")
    for index, word in enumerate((query.words or "").split()[:20]):
        where.append(f"(v.question ILIKE :w{index} OR v.sql ILIKE :w{index})")
        params[f"w{index}"] = like_pattern(word)
    return " AND ".join(where), params


async def library_page(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, query: LibraryQuery
) -> LibraryPage:
    """One page of the library: the tenant's own first (newest first), then the shared."""
    where, params = conditions(query)
    params.update(t=tenant_id, n=PER_PAGE, skip=(query.page - 1) * PER_PAGE)
    rows_sql = text(
        "SELECT v.id, v.question, v.sql, v.tenant_id IS NULL AS shared, v.source, "
        f"v.verified_at, v.is_active FROM verified_queries v WHERE {where} "
        "ORDER BY v.tenant_id IS NULL, v.is_active DESC, v.verified_at DESC, v.id "
        "LIMIT :n OFFSET :skip"
    )
    async with engine.connect() as connection:
        total = await connection.scalar(
            text(f"SELECT count(*) FROM verified_queries v WHERE {where}"), params
        )
        rows = await connection.execute(rows_sql, params)
        entries = [LibraryEntry(**row._asdict()) for row in rows]
    return LibraryPage(entries, int(total or 0), query)


async def library_entry(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, query_id: int
) -> LibraryEntry | None:
    """One of the tenant's own queries or a shared one; None for another tenant's or none."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT id, question, sql, tenant_id IS NULL AS shared, source, verified_at, "
                    "is_active FROM verified_queries WHERE id = :id "
                    "AND (tenant_id = :t OR tenant_id IS NULL)"
                ),
                {"id": query_id, "t": tenant_id},
            )
        ).first()
    return LibraryEntry(**row._asdict()) if row else None
