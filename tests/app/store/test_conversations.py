"""The conversation store: sessions per tenant and user, messages, totals, feedback; none of
it readable by the SQL tool's reader roles."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy import text

from app.errors import InvalidInput, NotFound
from app.store.conversations import (
    Message,
    add_message,
    check_session,
    create_session,
    session_history,
    session_totals,
    set_feedback,
    title_for,
)
from db.reader import reader_login, reader_url
from tests.factories import model_call


@pytest.fixture
async def tenant(filled_tenant):
    record, _ = await filled_tenant()
    return record


async def test_totals_come_from_one_view_with_unknown_costs_kept_apart(engine, tenant):
    session = await create_session(engine, tenant_id=tenant.id, user_id=None, title="t")
    add = lambda m: add_message(engine, session_id=session, tenant_id=tenant.id, message=m)  # noqa: E731
    await add(Message(role="user", content="q"))
    await add(model_call("gpt-4.1", 100, 10, "0.001"))
    await add(
        Message(role="tool", tool_name="run_sql", tool_input={"sql": "SELECT 1"}, error="boom")
    )
    await add(model_call("mystery", 50, 5, cached_input_tokens=20))
    totals = await session_totals(engine, session_id=session)
    assert totals.to_dict() == {
        "questions": 1,
        "model_calls": 2,
        "tool_calls": 1,
        "input_tokens": 150,
        "output_tokens": 15,
        "cached_input_tokens": 20,
        "cost_usd": 0.001,
        "unpriced_calls": 1,
        "errors": 1,
    }


async def test_history_has_questions_and_answers_but_not_tools_or_failures(engine, tenant):
    session = await create_session(engine, tenant_id=tenant.id, user_id=None, title="t")
    for message in (
        Message(role="user", content="first?"),
        Message(role="assistant", content="", model="m"),
        Message(role="tool", tool_name="run_sql", content="x"),
        Message(role="assistant", content="answer one", model="m"),
        Message(role="user", content="second?"),
        Message(role="assistant", model="m", error="HTTP 500"),
    ):
        await add_message(engine, session_id=session, tenant_id=tenant.id, message=message)
    history = await session_history(engine, session_id=session)
    assert [(h.role, h.content) for h in history] == [
        ("user", "first?"),
        ("assistant", "answer one"),
        ("user", "second?"),
    ]


async def test_sessions_are_checked_against_tenant_and_user(engine, filled_tenant):
    a, _ = await filled_tenant()
    b, _ = await filled_tenant()
    session = await create_session(engine, tenant_id=a.id, user_id=None, title=None)
    assert (
        await check_session(engine, session_id=str(session), tenant_id=a.id, user_id=None)
        == session
    )
    with pytest.raises(NotFound):
        await check_session(engine, session_id=session, tenant_id=b.id, user_id=None)
    with pytest.raises(NotFound):
        await check_session(engine, session_id=uuid.uuid4(), tenant_id=a.id, user_id=None)
    with pytest.raises(InvalidInput):
        await check_session(engine, session_id="1; DROP", tenant_id=a.id, user_id=None)


async def test_feedback_only_on_answers_of_the_tenant(engine, filled_tenant):
    a, _ = await filled_tenant()
    b, _ = await filled_tenant()
    session = await create_session(engine, tenant_id=a.id, user_id=None, title=None)
    answer = await add_message(
        engine,
        session_id=session,
        tenant_id=a.id,
        message=Message(role="assistant", content="x", model="m"),
    )
    await set_feedback(engine, message_id=answer, tenant_id=a.id, feedback=1, comment="great")
    with pytest.raises(NotFound):
        await set_feedback(engine, message_id=answer, tenant_id=b.id, feedback=-1)
    with pytest.raises(InvalidInput):
        await set_feedback(engine, message_id=answer, tenant_id=a.id, feedback=5)


def test_titles_are_one_short_line():
    assert title_for("  what was\nrevenue ") == "what was revenue"
    assert len(title_for("word " * 100)) == 80


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM chat_session_totals",
        "SELECT * FROM chat_messages",
        "SELECT * FROM chat_sessions",
    ],
)
async def test_readers_cannot_read_the_conversation_store(
    engine, settings, database_url, tenant, sql
):
    async with engine.connect() as connection:
        login = await reader_login(connection, tenant.id)
    connection = await asyncpg.connect(reader_url(settings, owner_url=database_url, login=login))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.fetch(sql)
    finally:
        await connection.close()


async def test_rows_without_tool_input_or_output_store_sql_null_not_json_null(engine, tenant):
    session = await create_session(engine, tenant_id=tenant.id, user_id=None, title="t")
    add = lambda m: add_message(engine, session_id=session, tenant_id=tenant.id, message=m)  # noqa: E731
    question = await add(Message(role="user", content="q"))
    answer = await add(Message(role="assistant", content="a", model="m"))
    call = await add(Message(role="tool", tool_name="run_sql", tool_input={"sql": "SELECT 1"}))
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT id, tool_input IS NULL AS no_input, tool_output IS NULL AS no_output "
                "FROM chat_messages WHERE session_id = :s ORDER BY id"
            ),
            {"s": session},
        )
        found = {r.id: (r.no_input, r.no_output) for r in rows}
    assert found == {question: (True, True), answer: (True, True), call: (False, True)}
