"""Log lines as JSON (or text) with the request and the turn they belong to: a real turn's
SQL audit line carries the stored question's id."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.log_format import REQUEST_ID, TURN_ID, configure_logging
from tests.app.agent.conftest import embeddings, make_agent, shop, stored_messages, tools
from tests.scripted_model import Call, ScriptedChatModel

__all__ = ["embeddings", "make_agent", "shop", "tools"]  # the agent's fixtures, for a turn


@pytest.fixture
def captured():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_request_and_turn_ids(captured):
    configure_logging("json", stream=captured)
    request, turn = REQUEST_ID.set("req-1"), TURN_ID.set(42)
    try:
        logging.getLogger("bichat.test").warning("answer %s", "stored")
    finally:
        REQUEST_ID.reset(request)
        TURN_ID.reset(turn)
    logging.getLogger("bichat.test").error("no context")
    first, second = lines(captured)
    assert first["message"] == "answer stored" and first["level"] == "warning"
    assert (first["request_id"], first["turn_id"], first["logger"]) == ("req-1", 42, "bichat.test")
    assert (second["request_id"], second["turn_id"]) == (None, None)


def test_text_lines_name_the_ids_when_there_are_some(captured):
    configure_logging("text", stream=captured)
    token = TURN_ID.set(7)
    try:
        logging.getLogger("bichat.test").warning("in a turn")
    finally:
        TURN_ID.reset(token)
    logging.getLogger("bichat.test").warning("outside")
    inside, outside = captured.getvalue().splitlines()
    assert inside.endswith("in a turn [turn=7]") and outside.endswith("outside")


async def test_a_turns_sql_audit_line_names_the_stored_question(captured, make_agent, shop):
    configure_logging("json", stream=captured)
    sql = "SELECT count(*) AS n FROM orders"
    turns = make_agent(ScriptedChatModel(script=[Call("run_sql", {"sql": sql}), "Counted."]))
    events = [e async for e in turns.stream(tenant=shop, question="How many orders in all?")]
    audit = [line for line in lines(captured) if line["logger"] == "bichat.audit"]
    assert audit and all(line["turn_id"] is not None for line in audit)
    question_id = audit[0]["turn_id"]
    rows = await stored_messages(turns.engine, events[-1].result.session_id)
    assert rows[0]["id"] == question_id and rows[0]["role"] == "user"
    assert TURN_ID.get() is None  # the turn's id ends with the turn
