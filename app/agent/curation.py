"""Admins curate a tenant's verified questions: list, add or promote an answer, edit, retire.

Nothing becomes a verified query without an admin, and nothing does without passing the SQL
tool's guard and a dry run on the tenant's data as the tenant's reader role (the same path
the agent's SQL takes). Thumbs-up answers are offered as suggestions. The shared library
(``prompts/examples.yaml``, tenant NULL) is listed but edited in that file only.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.embeddings import model_name, vector_literal
from app.errors import BichatError, InvalidInput, NotFound
from app.store.library import LibraryEntry, library_entry
from app.store.review import SessionDetail
from app.tools import registry
from app.tools.sql import SqlExecutor

MAX_QUESTION_CHARS = 500
PROMOTED = "promoted"  # from an answer
ADDED = "admin"  # written by an admin


class RefusedQuery(InvalidInput):
    """The SQL failed the guard or the dry run; the message says why."""

    code = "refused_query"


@dataclass
class Suggestion:
    """A thumbs-up answer whose question is not yet verified, with the SQL that answered it."""

    message_id: int
    session_id: uuid.UUID
    question: str
    sql: str
    answer: str | None
    created_at: datetime


SUGGESTIONS_SQL = text("""
SELECT a.id AS message_id, a.session_id, q.content AS question, x.sql, a.content AS answer,
       a.created_at
FROM chat_messages a
CROSS JOIN LATERAL (
  SELECT u.id, u.content, u.created_at FROM chat_messages u
  WHERE u.session_id = a.session_id AND u.role = 'user' AND u.id < a.id
  ORDER BY u.id DESC LIMIT 1) q
CROSS JOIN LATERAL (
  SELECT coalesce(t.tool_input ->> 'sql', t.tool_output ->> 'sql') AS sql FROM chat_messages t
  WHERE t.session_id = a.session_id AND t.tool_name = ANY(:sql_tools) AND t.error IS NULL
    AND t.id > q.id AND t.id < a.id
  ORDER BY t.id DESC LIMIT 1) x
WHERE a.tenant_id = :t AND a.role = 'assistant' AND a.feedback = 1 AND x.sql IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM verified_queries v WHERE v.is_active
                  AND (v.tenant_id = :t OR v.tenant_id IS NULL)
                  AND (v.question = q.content OR v.source_message_id = a.id))
ORDER BY a.created_at DESC, a.id DESC LIMIT :k
""")


async def suggestions(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, limit: int = 50
) -> list[Suggestion]:
    async with engine.connect() as connection:
        parameters = {"t": tenant_id, "k": limit, "sql_tools": list(registry.SQL_TOOLS)}
        rows = await connection.execute(SUGGESTIONS_SQL, parameters)
        return [Suggestion(**r._asdict()) for r in rows]


def promotable_answers(detail: SessionDetail) -> dict[int, tuple[str, str]]:
    """Each answer (by id) of a conversation whose turn ran SQL successfully: its question and
    the last such SQL (what an admin may promote to a verified query)."""
    found: dict[int, tuple[str, str]] = {}
    question, sql = None, None
    for message in detail.messages:
        ran = registry.sql_of(message.tool_name, message.tool_input, message.tool_output)
        if message.role == "user":
            question, sql = message.content, None
        elif ran and message.error is None:
            sql = ran
        elif message.role == "assistant" and question and sql:
            found[message.id] = (question, sql)
    return found


def clean_question(question: str) -> str:
    cleaned = " ".join(question.split())
    if not cleaned:
        raise InvalidInput("the question is empty", code="empty_question")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"the question is limited to {MAX_QUESTION_CHARS} characters")
    return cleaned


async def dry_run(executor: SqlExecutor, *, tenant_id: uuid.UUID, sql: str) -> str:
    """The SQL as it will be stored, after the guard and a run on the tenant's data exactly
    as the chat will run it: the chat's executor, with its row and byte caps and timeout
    (five rows used to pass SQL that times out when the chat reads its 500)."""
    sql = sql.strip().rstrip(";").strip()
    if not sql:
        raise RefusedQuery("the SQL is empty")
    try:
        await executor.run(tenant_id=tenant_id, sql=sql, context="curation")
    except BichatError as error:
        raise RefusedQuery(f"not verified: {error.message}") from error
    return sql


async def verified_pair(
    *,
    executor: SqlExecutor,
    embeddings: Embeddings,
    tenant_id: uuid.UUID,
    question: str,
    sql: str,
) -> dict[str, Any]:
    """The checked question and SQL with the question's vector, as statement parameters
    (``q``, ``sql``, ``v``, ``m``); ``RefusedQuery`` when the SQL fails the guard or the run."""
    question = clean_question(question)
    sql = await dry_run(executor, tenant_id=tenant_id, sql=sql)
    vector = await asyncio.to_thread(embeddings.embed_query, question)
    return {"q": question, "sql": sql, "v": vector_literal(vector), "m": model_name(embeddings)}


async def add_verified(
    engine: AsyncEngine,
    *,
    executor: SqlExecutor,
    embeddings: Embeddings,
    tenant_id: uuid.UUID,
    question: str,
    sql: str,
    source: str = ADDED,
    source_message_id: int | None = None,
) -> int:
    """Verify and store a question -> SQL pair for the tenant (an active pair with the same
    question is replaced: its SQL is what the admin verified last)."""
    pair = await verified_pair(
        executor=executor, embeddings=embeddings, tenant_id=tenant_id, question=question, sql=sql
    )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE verified_queries SET is_active = false WHERE tenant_id = :t "
                "AND question = :q AND is_active"
            ),
            {"t": tenant_id, "q": pair["q"]},
        )
        new_id = await connection.scalar(
            text(
                "INSERT INTO verified_queries (tenant_id, question, sql, source, embedding, "
                "embedding_model, source_message_id) VALUES (:t, :q, :sql, :s, "
                "CAST(:v AS vector), :m, (SELECT id FROM chat_messages WHERE id = :msg "
                "AND tenant_id = :t AND role = 'assistant')) RETURNING id"
            ),
            {"t": tenant_id, "s": source, "msg": source_message_id, **pair},
        )
    return int(new_id)


async def owned(engine: AsyncEngine, *, tenant_id: uuid.UUID, query_id: int) -> LibraryEntry:
    """The tenant's own verified query; the shared library and other tenants' are not."""
    entry = await library_entry(engine, tenant_id=tenant_id, query_id=query_id)
    if entry is None:
        raise NotFound(f"no verified query {query_id} in this shop", code="unknown_query")
    if entry.shared:
        raise InvalidInput(
            "shared examples are edited in prompts/examples.yaml, not here", code="shared_query"
        )
    return entry


async def update_verified(
    engine: AsyncEngine,
    *,
    executor: SqlExecutor,
    embeddings: Embeddings,
    tenant_id: uuid.UUID,
    query_id: int,
    question: str,
    sql: str,
) -> None:
    await owned(engine, tenant_id=tenant_id, query_id=query_id)
    pair = await verified_pair(
        executor=executor, embeddings=embeddings, tenant_id=tenant_id, question=question, sql=sql
    )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE verified_queries SET question = :q, sql = :sql, is_active = true, "
                "embedding = CAST(:v AS vector), embedding_model = :m, verified_at = now() "
                "WHERE id = :id AND tenant_id = :t"
            ),
            {"id": query_id, "t": tenant_id, **pair},
        )


async def retire_verified(engine: AsyncEngine, *, tenant_id: uuid.UUID, query_id: int) -> None:
    await owned(engine, tenant_id=tenant_id, query_id=query_id)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE verified_queries SET is_active = false WHERE id = :id AND tenant_id = :t"),
            {"id": query_id, "t": tenant_id},
        )
