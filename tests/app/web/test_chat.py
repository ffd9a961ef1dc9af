"""The chat end to end over HTTP and socket.io, as the browser talks to it: login, a streamed
answer with its SQL step, table, CSV and follow-ups, history, resume with memory, feedback,
rename and delete, and each user kept to their own tenant and conversations."""

from __future__ import annotations

import json

import httpx

from tests.app.web.conftest import PASSWORD, XSS_NAME, db_rows
from tests.chat_client import ChatClient
from tests.scripted_model import Call, ScriptedChatModel


async def test_health_and_login(web_server):
    assert httpx.get(f"{web_server.base_url}/healthz").json() == {"status": "ok"}
    client = ChatClient(web_server.base_url)
    try:
        assert (await client.login("ann", "wrong-password")).status_code == 401
        assert (await client.login("nobody", PASSWORD)).status_code == 401
        assert (await client.login("ann", PASSWORD)).status_code == 200 and client.cookie
    finally:
        await client.close()


async def test_an_offline_answer_streams_with_its_step_table_csv_and_follow_ups(offline, ann):
    """Without a model the question engine answers: the interpretation first, its query and
    chart as steps, the table, its CSV and a chart below, close verified questions after."""
    turn = await ann.turn("How many orders came from each channel?")  # no verified question
    answer = turn.answer()
    streamed = "".join(turn.tokens).strip()
    assert "\n| " in streamed  # the engine writes its rows as a table (bichat ask shows it)
    assert "| " not in answer["output"]  # the chat shows them once: in the table below
    assert "rows, in the table below." in answer["output"]
    assert answer["output"].startswith("**Orders by channel · all time")
    assert turn.of("set_modes")[0][0]["options"][0]["id"] == "offline"  # the indicator
    steps = [s for s in turn.steps if s["type"] == "tool"]
    assert [s["name"] for s in steps] == ["query_metrics", "make_chart"]
    assert "o.channel AS channel" in steps[0]["input"] and steps[0]["showInput"] == "sql"
    assert " row(s) in " in steps[0]["output"]
    elements = {e["type"]: e for e in turn.of("element")}
    assert set(elements) == {"dataframe", "file", "plotly"}
    actions = turn.of("action")  # three follow-ups, and the pin (an answer from the metrics)
    assert [a["name"] for a in actions] == ["follow_up"] * 3 + ["pin"]
    stored = await db_rows(
        offline.database_url,
        "SELECT s.user_id, u.username, m.role, m.model FROM chat_sessions s JOIN app_users u "
        "ON u.id = s.user_id JOIN chat_messages m ON m.session_id = s.id WHERE s.id = :id "
        "ORDER BY m.id",
        id=turn.thread_id,
    )
    assert [r.role for r in stored] == ["user", "tool", "tool", "assistant"]
    assert stored[0].username == "ann" and stored[-1].model is None  # no model was called


async def test_a_clarification_offers_its_options_as_buttons(offline, ann):
    turn = await ann.turn("Which one is the best?")
    labels = [a["label"] for a in turn.of("action")]
    assert 2 <= len(labels) <= 4 and "?" in turn.answer()["output"]
    assert not [s for s in turn.steps if s["type"] == "tool"]  # nothing ran
    picked = await ann.turn(labels[0], thread_id=turn.thread_id)
    assert next(s["name"] for s in picked.steps if s["type"] == "tool") == "query_metrics"


async def test_history_resume_and_memory(web_server, ann):
    model = ScriptedChatModel(
        script=[
            Call("run_sql", {"sql": "SELECT count(*) AS orders FROM orders"}),
            Call("make_chart", {"kind": "bar", "x": "orders", "y": ["orders"]}),
            "You had 300 orders.",
            lambda messages: f"Earlier you asked: {messages[1].content}",
        ]
    )
    web_server.use_model(model)
    try:
        first = await ann.turn("How many orders in total?")
        assert first.answer()["output"] == "You had 300 orders."
        assert {e["type"] for e in first.of("element")} == {"dataframe", "file", "plotly"}
        threads = await ann.threads()
        assert (
            threads[0]["id"] == first.thread_id
            and threads[0]["name"] == "How many orders in total?"
        )
        reopened = await ann.turn(None, thread_id=first.thread_id)
        kinds = {e["type"] for e in reopened.of("element")}
        assert {"dataframe", "file", "plotly"} <= kinds  # tables and charts come back
        resumed = await ann.turn("What did I ask before?", thread_id=first.thread_id)
        assert resumed.answer()["output"] == "Earlier you asked: How many orders in total?"
    finally:
        web_server.use_model(None)
    thread = (await ann.thread(first.thread_id)).json()
    kinds = [s["type"] for s in thread["steps"]]
    assert kinds.count("user_message") == 2 and kinds.count("tool") == 2


async def test_feedback_rename_and_delete_reach_the_store(offline, ann):
    turn = await ann.turn("Which brands sell best?")
    answer = turn.answer()
    response = await ann.feedback(turn.session_id, answer["id"], 1, "exactly what I needed")
    assert response.status_code == 200, response.text
    stored = await db_rows(
        offline.database_url,
        "SELECT feedback, feedback_comment FROM chat_messages WHERE session_id = :id "
        "AND role = 'assistant' AND content <> '' ORDER BY id DESC LIMIT 1",
        id=turn.thread_id,
    )
    assert (stored[0].feedback, stored[0].feedback_comment) == (1, "exactly what I needed")
    thread = (await ann.thread(turn.thread_id)).json()
    shown = [s for s in thread["steps"] if s.get("feedback")]
    assert shown and shown[0]["feedback"]["value"] == 1
    assert (await ann.rename(turn.thread_id, "Brands")).status_code == 200
    assert (
        await db_rows(
            offline.database_url,
            "SELECT title FROM chat_sessions WHERE id = :id",
            id=turn.thread_id,
        )
    )[0].title == "Brands"
    assert (await ann.delete(turn.thread_id)).status_code == 200
    assert (
        await db_rows(
            offline.database_url,
            "SELECT 1 FROM chat_messages WHERE session_id = :id",
            id=turn.thread_id,
        )
        == []
    )


async def test_users_see_only_their_own_conversations(offline, ann, web_server):
    turn = await ann.turn("Which payment methods do customers use most?")
    for username in ("bob", "eve"):  # same tenant, another tenant
        other = ChatClient(web_server.base_url)
        try:
            assert (await other.login(username, PASSWORD)).status_code == 200
            assert turn.thread_id not in {t["id"] for t in await other.threads()}
            assert (await other.thread(turn.thread_id)).status_code in (401, 403, 404)
            assert (await other.delete(turn.thread_id)).status_code in (401, 403, 404)
        finally:
            await other.close()
    assert (await ann.thread(turn.thread_id)).status_code == 200


async def test_another_tenants_user_gets_their_own_data(offline, web_server):
    eve = ChatClient(web_server.base_url)
    try:
        await eve.login("eve", PASSWORD)
        turn = await eve.turn("How many orders are in each status?")
        assert (
            "no rows" in turn.answer()["output"]
        )  # web-other has no orders; web-shop's stay hidden
    finally:
        await eve.close()


async def test_html_in_data_travels_as_text(web_server, ann):
    model = ScriptedChatModel(
        script=[
            Call("run_sql", {"sql": "SELECT name FROM products ORDER BY id LIMIT 1"}),
            f"The first product is {XSS_NAME}.",
        ]
    )
    web_server.use_model(model)
    try:
        turn = await ann.turn("first product?")
    finally:
        web_server.use_model(None)
    table = next(e for e in turn.of("element") if e["type"] == "dataframe")
    assert table["mime"] == "text/plain"
    assert XSS_NAME in turn.answer()["output"]  # escaped by the UI (browser test proves it inert)
    assert json.dumps(XSS_NAME)[1:-1] in json.dumps(turn.answer())


async def test_the_csv_download_defuses_formulas_from_data(web_server, ann):
    """A review title like ``=cmd|' /C calc'!A0`` reaches the spreadsheet as text."""
    formula = "=cmd|' /C calc'!A0"
    sql = "SELECT " + "'" + formula.replace("'", "''") + "'" + " AS title, 1 AS n"
    web_server.use_model(ScriptedChatModel(script=[Call("run_sql", {"sql": sql}), "Here."]))
    try:
        turn = await ann.turn("the titles?")
    finally:
        web_server.use_model(None)
    (csv_file,) = [e for e in turn.of("element") if e["type"] == "file"]
    download = await ann.http.get(
        f"/project/file/{csv_file['chainlitKey']}", params={"session_id": turn.session_id}
    )
    assert download.status_code == 200
    assert download.text.splitlines()[1] == "'=cmd|' /C calc'!A0,1"
