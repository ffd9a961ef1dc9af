"""The verified-query library: at least 40 pairs, each passing the guard and running on demo
data; loaded into verified_queries with embeddings, idempotently."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.embeddings import model_name
from app.sqlguard import check_sql
from app.store.verified import Example, load_examples, similar_questions, sync_examples
from app.tools.sql import PRIVATE_COLUMNS, READER_SCHEMAS, READER_TABLES

EXAMPLES = load_examples()


def test_there_are_at_least_40_distinct_examples():
    assert len(EXAMPLES) >= 40
    assert len({e.question for e in EXAMPLES}) == len(EXAMPLES)
    assert len({e.sql for e in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.question[:40] for e in EXAMPLES])
def test_each_example_passes_the_guard(example):
    check_sql(
        example.sql,
        set(READER_TABLES),
        private_columns=PRIVATE_COLUMNS,
        table_schemas=READER_SCHEMAS,
    )


async def test_each_example_runs_on_the_demo_data(tools, shop):
    executor, _ = tools
    failures, empty = {}, []
    for example in EXAMPLES:
        try:
            result = await executor.run(tenant_id=shop.id, sql=example.sql, context="test")
        except Exception as error:
            failures[example.question] = str(error)
            continue
        if result.row_count == 0:
            empty.append(example.question)
    assert failures == {}
    # relative periods may be empty on a small shop, but most examples must return data
    assert len(empty) <= 5, empty


async def test_sync_is_idempotent_updates_changed_sql_and_retires_removed_pairs(
    engine, embeddings, shop
):
    await sync_examples(engine, embeddings=embeddings)
    assert await sync_examples(engine, embeddings=embeddings) == 0  # nothing new to embed
    changed = (Example(EXAMPLES[0].question, "SELECT 42 AS answer"), *EXAMPLES[2:])
    assert await sync_examples(engine, embeddings=embeddings, examples=changed) == 0
    async with engine.connect() as connection:
        rows = dict(
            (
                await connection.execute(
                    text(
                        "SELECT question, sql FROM verified_queries "
                        "WHERE tenant_id IS NULL AND is_active"
                    )
                )
            ).all()
        )
    assert rows[EXAMPLES[0].question] == "SELECT 42 AS answer"
    assert EXAMPLES[1].question not in rows and len(rows) == len(EXAMPLES) - 1
    await sync_examples(engine, embeddings=embeddings)  # back to the file
    vector = embeddings.embed_query("which payment method is used the most")
    matches = await similar_questions(
        engine, tenant_id=shop.id, vector=vector, model=model_name(embeddings), limit=3
    )
    assert matches[0].question == "Which payment methods do customers use most?"
    assert matches[0].similarity > 0.8 > matches[-1].similarity > 0
