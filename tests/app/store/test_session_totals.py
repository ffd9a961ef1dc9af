"""The totals kept by the trigger of migration 0006 (on the session and per day), and the
session's search words, always equal an aggregate over the messages themselves, through
inserts and feedback changes."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import text

from app.store.conversations import Message, add_message, create_session, set_feedback

AGGREGATE = text("""
SELECT count(*) FILTER (WHERE role = 'user') AS questions,
       count(*) FILTER (WHERE role = 'assistant' AND model IS NOT NULL) AS model_calls,
       count(*) FILTER (WHERE role = 'tool') AS tool_calls,
       coalesce(sum(input_tokens), 0) AS input_tokens,
       coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(cached_input_tokens), 0) AS cached_input_tokens,
       sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE role = 'assistant' AND error IS NULL AND cost_usd IS NULL)
         AS unpriced_calls,
       count(*) FILTER (WHERE error IS NOT NULL) AS errors,
       count(*) FILTER (WHERE feedback = 1) AS thumbs_up,
       count(*) FILTER (WHERE feedback = -1) AS thumbs_down,
       coalesce(array_agg(DISTINCT model ORDER BY model) FILTER (
         WHERE role = 'assistant' AND model IS NOT NULL), '{}') AS models,
       strip(to_tsvector('simple', string_agg(content, ' ')))::text AS search
FROM chat_messages WHERE session_id = :s
""")
KEPT = text("""
SELECT questions, model_calls, tool_calls, input_tokens, output_tokens, cached_input_tokens,
       cost_usd, unpriced_calls, errors, thumbs_up, thumbs_down,
       ARRAY(SELECT unnest(models) ORDER BY 1) AS models, search::text AS search
FROM chat_sessions WHERE id = :s
""")
DAILY = text("""
SELECT model, sum(model_calls) AS calls, sum(input_tokens) AS input_tokens, sum(cost_usd) AS cost
FROM chat_usage_daily WHERE tenant_id = :t GROUP BY model ORDER BY model
""")
DAILY_FROM_MESSAGES = text("""
SELECT model, count(*) AS calls, sum(coalesce(input_tokens, 0)) AS input_tokens,
       sum(cost_usd) AS cost
FROM chat_messages WHERE tenant_id = :t AND role = 'assistant' AND model IS NOT NULL
GROUP BY model ORDER BY model
""")


def random_message(rng: random.Random) -> Message:
    role = rng.choice(["user", "assistant", "assistant", "tool"])
    if role == "user":
        words = rng.sample(["revenue", "channel", "Zeppelin", "refund", "März", "42"], 3)
        return Message(role="user", content=f"question {' '.join(words)} {rng.random()}")
    if role == "tool":
        failed = rng.random() < 0.3
        return Message(role="tool", tool_name="run_sql", error="boom" if failed else None)
    model = rng.choice(["gpt-4o-mini", "gpt-4.1", "mystery", None])
    return Message(
        role="assistant",
        content="answer",
        model=model,
        input_tokens=rng.randint(0, 5000),
        output_tokens=rng.randint(0, 500),
        cached_input_tokens=rng.choice([None, 0, 100]),
        cost_usd=None if model in ("mystery", None) else Decimal(rng.randint(1, 9999)) / 10**6,
        error="rate limited" if rng.random() < 0.1 else None,
    )


async def test_kept_totals_equal_the_aggregate_of_messages(engine, filled_tenant):
    tenant, _ = await filled_tenant()
    rng = random.Random(8)
    sessions = [
        await create_session(engine, tenant_id=tenant.id, user_id=None, title=f"s{i}")
        for i in range(4)
    ]
    answers = []
    for _ in range(80):
        session = rng.choice(sessions)
        message = random_message(rng)
        message_id = await add_message(
            engine, session_id=session, tenant_id=tenant.id, message=message
        )
        if message.role == "assistant":
            answers.append(message_id)
    for message_id in rng.sample(answers, 12):  # set, change and clear feedback
        for value in (1, -1, rng.choice([1, -1, None])):
            await set_feedback(engine, message_id=message_id, tenant_id=tenant.id, feedback=value)
    async with engine.connect() as connection:
        for session in sessions:
            expected = (await connection.execute(AGGREGATE, {"s": session})).one()._asdict()
            kept = (await connection.execute(KEPT, {"s": session})).one()._asdict()
            assert kept == expected
        daily = (await connection.execute(DAILY, {"t": tenant.id})).all()
        from_messages = (await connection.execute(DAILY_FROM_MESSAGES, {"t": tenant.id})).all()
    assert daily == from_messages and daily
