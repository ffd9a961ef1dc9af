"""/admin over real HTTP: who may see what (anonymous, analyst, the shop's admin, another
shop's admin, on every route), conversation list filters, transcript, usage, exports, and
verified-query curation through the guard and a dry run."""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from app.embeddings import LOCAL_MODEL, LocalEmbeddings
from app.store.conversations import Message, add_message, create_session, set_feedback
from app.store.verified import similar_questions
from db.engine import create_engine
from db.tenants import get_tenant
from tests.app.web.conftest import PASSWORD, admin_login, db_scalar
from tests.chat_client import ChatClient

GOOD_SQL = "SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY 2 DESC"


@dataclass
class Conversation:
    session_id: uuid.UUID
    answer_id: int
    question: str


def price(model: str, usd: str) -> Decimal | None:
    """What the recorder stores: no price for a model missing from the price table."""
    return None if model == "local-llama" else Decimal(usd)


async def write_conversation(
    url: str,
    *,
    tenant: str,
    user: str,
    question: str,
    sql: str = GOOD_SQL,
    error: bool = False,
    thumbs: int | None = None,
    model: str = "gpt-4o-mini",
    answer: str | None = None,
) -> Conversation:
    """A stored turn as the agent writes it: question, model call, run_sql, answer."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            shop = await get_tenant(connection, tenant)
            user_id = await connection.scalar(
                text("SELECT id FROM app_users WHERE username = :u"), {"u": user}
            )
        session = await create_session(engine, tenant_id=shop.id, user_id=user_id, title=question)

        async def add(**fields) -> int:
            return await add_message(
                engine, session_id=session, tenant_id=shop.id, message=Message(**fields)
            )

        await add(role="user", content=question)
        await add(
            role="assistant",
            model=model,
            input_tokens=1000,
            output_tokens=20,
            cost_usd=price(model, "0.00016200"),
            latency_ms=400,
            tool_input={"tool_calls": [{"name": "run_sql", "args": {"sql": sql}}]},
        )
        await add(
            role="tool",
            tool_name="run_sql",
            tool_input={"sql": sql},
            tool_output=None if error else {"row_count": 3, "columns": ["status", "orders"]},
            error="undefined_column: no such column" if error else None,
            latency_ms=5,
        )
        answer_id = await add(
            role="assistant",
            content=answer or f"Answer to {question}",
            model=model,
            input_tokens=1200,
            output_tokens=60,
            cost_usd=price(model, "0.00021600"),
            latency_ms=700,
        )
        if thumbs:
            await set_feedback(engine, message_id=answer_id, tenant_id=shop.id, feedback=thumbs)
        return Conversation(session, answer_id, question)
    finally:
        await engine.dispose()


def client_for(web_server, username: str | None) -> httpx.Client:
    client = httpx.Client(base_url=web_server.base_url, follow_redirects=False, timeout=30)
    if username:
        response = admin_login(client, username)
        assert response.status_code == 303, response.text
    return client


def text_of(page: str) -> str:
    """What a person reads: the page without its tags (highlighted SQL is split into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def csrf(client: httpx.Client, path: str = "/admin/verified") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found
    return found.group(1)


async def add_verified(web_server, client: httpx.Client, token: str, question: str) -> int:
    """Verify GOOD_SQL for ``question`` through the admin form; the new query's id."""
    client.post("/admin/verified", data={"question": question, "sql": GOOD_SQL, "csrf": token})
    return await db_scalar(
        web_server.database_url,
        "SELECT id FROM verified_queries WHERE question = :q AND is_active",
        q=question,
    )


@pytest.fixture(scope="module")
async def shop_a(web_server):
    """Conversations of web-shop: one with a thumbs up, one with an error and a thumbs down,
    one by the analyst with an unpriced model."""
    url = web_server.database_url
    return {
        "liked": await write_conversation(
            url, tenant="web-shop", user="ann", question="Orders per status please", thumbs=1
        ),
        "failed": await write_conversation(
            url,
            tenant="web-shop",
            user="ann",
            question="Broken margin question",
            error=True,
            thumbs=-1,
        ),
        "bob": await write_conversation(
            url,
            tenant="web-shop",
            user="bob",
            question="Bob asks about <script>alert(1)</script>",
            model="local-llama",
        ),
    }


@pytest.fixture(scope="module")
async def shop_b(web_server):
    return await write_conversation(
        web_server.database_url,
        tenant="web-other",
        user="eve",
        question="Other shop secret",
        sql="SELECT count(*) AS products FROM products",
    )


def routes(conversation: Conversation) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/"),
        ("GET", "/admin/conversations"),
        ("GET", f"/admin/conversations/{conversation.session_id}"),
        ("GET", "/admin/usage"),
        ("GET", "/admin/verified"),
        ("GET", "/admin/queries"),
        ("GET", f"/admin/verified?message={conversation.answer_id}"),
        ("GET", "/admin/export/conversations.jsonl"),
        ("GET", "/admin/export/usage.csv"),
        ("POST", "/admin/verified"),
        ("POST", "/admin/verified/1"),
    ]


def test_anonymous_users_are_sent_to_log_in_everywhere(web_server, shop_a):
    client = client_for(web_server, None)
    for method, path in routes(shop_a["liked"]):
        response = client.request(method, path)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/admin/login?next=/admin")
    assert client.get("/admin/login").status_code == 200


def test_analysts_get_403_everywhere(web_server, shop_a):
    client = client_for(web_server, "bob")
    for method, path in routes(shop_a["liked"]):
        assert client.request(method, path).status_code == 403, (method, path)


def test_the_admin_of_the_shop_gets_every_page(web_server, shop_a, shop_b):
    client = client_for(web_server, "ann")
    for method, path in routes(shop_a["liked"]):
        if method == "GET":
            response = client.get(path)
            assert response.status_code in (200, 303), (path, response.text[:300])
            assert "Other shop secret" not in response.text
    page = client.get("/admin/conversations").text
    assert "Orders per status please" in page and "Broken margin question" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert str(shop_b.session_id) not in page


def test_another_shops_admin_sees_nothing_of_this_shop(web_server, shop_a, shop_b):
    client = client_for(web_server, "olga")
    a = shop_a["liked"]
    for method, path in routes(a):  # every route: nothing of web-shop comes back
        data = {"csrf": csrf(client)} if method == "POST" else None
        response = client.request(method, path, data=data)
        assert response.status_code in (200, 303, 400, 404), (method, path)
        for secret in ("Orders per status", "Broken margin", "Bob asks", GOOD_SQL):
            assert secret not in text_of(response.text), (method, path, secret)
    assert client.get(f"/admin/conversations/{a.session_id}").status_code == 404
    listing = client.get("/admin/conversations").text
    assert "Other shop secret" in listing and "Orders per status" not in listing
    export = client.get("/admin/export/conversations.jsonl").text
    assert "Orders per status" not in export and "Other shop secret" in export
    assert "web-shop" not in client.get("/admin/usage").text
    draft = client.get(f"/admin/verified?message={a.answer_id}").text
    assert GOOD_SQL not in text_of(draft)  # another shop's answer is no draft here
    usage = client.get("/admin/export/usage.csv?by=user").text
    assert "ann" not in usage and "bob" not in usage


def test_forms_need_the_csrf_token(web_server, shop_a):
    client = client_for(web_server, "ann")
    response = client.post("/admin/verified", data={"question": "Q?", "sql": GOOD_SQL})
    assert response.status_code == 403
    response = client.post(
        "/admin/verified", data={"question": "Q?", "sql": GOOD_SQL, "csrf": "0" * 64}
    )
    assert response.status_code == 403


def test_login_failures_and_redirects_stay_on_this_site(web_server):
    client = httpx.Client(base_url=web_server.base_url, follow_redirects=False)
    failed = admin_login(client, "ann", "nope")
    assert failed.status_code == 401 and "Wrong username or password" in failed.text
    for target in ("https://evil.example/admin", "//evil.example/x", "/chat/"):
        response = admin_login(client, "ann", next=target)
        assert response.headers["location"] == "/admin/conversations"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie


def test_list_filters_and_sorting(web_server, shop_a):
    client = client_for(web_server, "ann")

    def titles(**query) -> str:
        response = client.get("/admin/conversations", params=query)
        assert response.status_code == 200
        return response.text

    assert "Broken margin" in titles(has_error="1") and "Orders per status" not in titles(
        has_error="1"
    )
    assert "Orders per status" in titles(feedback="up")
    assert "Broken margin" in titles(feedback="down") and "Orders per" not in titles(
        feedback="down"
    )
    by_bob = titles(user="bob")
    assert "Bob asks" in by_bob and "Orders per status" not in by_bob
    assert "Bob asks" in titles(model="local-llama")
    assert "Orders per status" not in titles(model="local-llama")
    assert "Broken margin" in titles(text="margin") and "Bob asks" not in titles(text="margin")
    assert "Orders per status" in titles(since="2000-01-01", until="2100-01-01")
    assert "No conversation matches" in titles(until="2000-01-01")
    cheapest_first = titles(sort="cost", descending="0")
    assert cheapest_first.index("Bob asks") < cheapest_first.index("Orders per status")
    bad = client.get("/admin/conversations", params={"sort": "name"})
    assert bad.status_code == 400 and "sort must be one of date, tokens, cost" in bad.text


def test_the_transcript_shows_every_call_with_tokens_cost_and_feedback(web_server, shop_a):
    client = client_for(web_server, "ann")
    page = client.get(f"/admin/conversations/{shop_a['failed'].session_id}").text
    assert "Broken margin question" in page and GOOD_SQL in text_of(page)
    assert "undefined_column: no such column" in page
    assert "1000 in / 20 out" in page and "0.000162 USD" in page and "400 ms" in page
    assert "👎" in page
    liked = client.get(f"/admin/conversations/{shop_a['liked'].session_id}").text
    assert f'id="promote-{shop_a["liked"].answer_id}"' in liked
    assert "promote-" not in page  # its only SQL failed: nothing to promote
    bob = client.get(f"/admin/conversations/{shop_a['bob'].session_id}").text
    assert "unpriced" in bob


def test_usage_page_and_csv_add_up(web_server, shop_a):
    client = client_for(web_server, "ann")
    csv_text = client.get("/admin/export/usage.csv", params={"by": "model"}).text
    lines = {line.split(",")[0]: line.split(",") for line in csv_text.strip().splitlines()}
    assert lines["model"][:3] == ["model", "model_calls", "input_tokens"]
    mini = lines["gpt-4o-mini"]
    calls = int(mini[1])
    assert calls >= 4 and int(mini[2]) == calls // 2 * 2200  # 1000 + 1200 per conversation
    assert lines["local-llama"][5] == ""  # unpriced: no cost, never 0
    assert int(lines["local-llama"][6]) == 2
    # other modules' chats on this shared server (scripted models) may add unpriced calls
    unpriced = sum(int(row[6]) for key, row in lines.items() if key != "model")
    page = client.get("/admin/usage").text
    assert f"plus {unpriced} calls of models without a price" in page
    assert '<svg class="usage-chart"' in page and "<rect" in page  # drawn on the server
    assert "plotly" not in page  # no 4.7 MB script to fetch and run for one chart


def test_a_period_without_model_calls_says_so_instead_of_a_flat_chart(web_server, shop_a):
    client = client_for(web_server, "ann")
    page = client.get("/admin/usage", params={"since": "2001-01-01", "until": "2001-01-30"})
    assert page.status_code == 200
    assert 'id="usage-empty"' in page.text
    assert "No model calls from 2001-01-01 to 2001-01-30" in text_of(page.text)
    assert "<svg" not in page.text and "<table" not in page.text  # no axis, no rows of zeros


async def test_export_round_trip(web_server, shop_a):
    client = client_for(web_server, "ann")
    response = client.get("/admin/export/conversations.jsonl", params={"user": "ann"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    exported = [json.loads(line) for line in response.text.splitlines()]
    assert {e["title"] for e in exported} >= {"Orders per status please", "Broken margin question"}
    for conversation in exported:
        count = await db_scalar(
            web_server.database_url,
            "SELECT count(*) FROM chat_messages WHERE session_id = :s",
            s=uuid.UUID(conversation["id"]),
        )
        assert len(conversation["messages"]) == count
        assert conversation["username"] == "ann"
    failed = next(e for e in exported if e["title"] == "Broken margin question")
    tool = next(m for m in failed["messages"] if m["role"] == "tool")
    assert tool["tool_input"] == {"sql": GOOD_SQL} and tool["error"].startswith("undefined_column")


# Long: one story end to end (refused, promoted, embedded, then used by the offline agent);
# its steps depend on each other.
async def test_promotion_runs_the_guard_and_a_dry_run_and_feeds_the_agent(web_server, shop_a):
    client = client_for(web_server, "ann")
    liked = shop_a["liked"]
    page = client.get("/admin/verified").text
    assert f'id="suggest-{liked.answer_id}"' in page  # a thumbs-up answer is suggested
    draft = client.get("/admin/verified", params={"message": liked.answer_id}).text
    assert "Orders per status please" in draft and "GROUP BY status" in draft
    token = csrf(client)
    question = "How many orders does each status have right now?"
    refusals = {
        "DROP TABLE orders": "not verified",
        "SELECT email FROM customers": "not verified",
        "SELECT no_such_column FROM orders": "not verified",
        "SELECT * FROM app_users": "not verified",
    }
    for sql, message in refusals.items():
        response = client.post(
            "/admin/verified",
            data={"question": question, "sql": sql, "csrf": token, "message": str(liked.answer_id)},
        )
        assert response.status_code == 400 and message in response.text, sql
    assert (
        await db_scalar(
            web_server.database_url,
            "SELECT count(*) FROM verified_queries WHERE question = :q",
            q=question,
        )
        == 0
    )
    response = client.post(
        "/admin/verified",
        data={
            "question": question,
            "sql": GOOD_SQL,
            "csrf": token,
            "message": str(liked.answer_id),
        },
    )
    assert response.status_code == 303
    source = await db_scalar(
        web_server.database_url,
        "SELECT source FROM verified_queries WHERE question = :q AND is_active",
        q=question,
    )
    assert source == "promoted"
    engine = create_engine(web_server.database_url)
    try:
        async with engine.connect() as connection:
            shop = await get_tenant(connection, "web-shop")
            other = await get_tenant(connection, "web-other")
        vector = LocalEmbeddings().embed_query(question)
        found = await similar_questions(
            engine, tenant_id=shop.id, vector=vector, model=LOCAL_MODEL, limit=4
        )
        elsewhere = await similar_questions(
            engine, tenant_id=other.id, vector=vector, model=LOCAL_MODEL, limit=4
        )
    finally:
        await engine.dispose()
    assert (found[0].question, found[0].sql) == (question, GOOD_SQL)  # the prompt's examples
    assert all(m.question != question for m in elsewhere)
    web_server.use_model(None)  # offline: answers with verified queries alone
    chat = ChatClient(web_server.base_url)
    try:
        assert (await chat.login("ann", PASSWORD)).status_code == 200
        turn = await chat.turn(question)
    finally:
        await chat.close()
    step, *drawn = [s for s in turn.steps if s["type"] == "tool"]
    assert step["input"] == GOOD_SQL
    assert [s["name"] for s in drawn] in ([], ["make_chart"])  # a chart of the rows, if any helps
    assert f'id="suggest-{liked.answer_id}"' not in client.get("/admin/verified").text


async def test_edit_and_retire_a_verified_query(web_server, shop_a):
    client = client_for(web_server, "ann")
    token = csrf(client)
    question = "Which statuses have orders (edit test)?"
    query_id = await add_verified(web_server, client, token, question)
    bad = client.post(
        f"/admin/verified/{query_id}",
        data={"question": question, "sql": "DELETE FROM orders", "csrf": token},
    )
    assert bad.status_code == 400
    assert (
        await db_scalar(
            web_server.database_url, "SELECT sql FROM verified_queries WHERE id = :i", i=query_id
        )
        == GOOD_SQL
    )
    olga = client_for(web_server, "olga")
    other = olga.post(
        f"/admin/verified/{query_id}",
        data={"question": "hijack", "sql": GOOD_SQL, "csrf": csrf(olga), "action": "retire"},
    )
    assert other.status_code == 404
    shared = await db_scalar(
        web_server.database_url, "SELECT min(id) FROM verified_queries WHERE tenant_id IS NULL"
    )
    refused = client.post(f"/admin/verified/{shared}", data={"csrf": token, "action": "retire"})
    assert refused.status_code == 400 and "examples.yaml" in refused.text
    retired = client.post(f"/admin/verified/{query_id}", data={"csrf": token, "action": "retire"})
    assert retired.status_code == 303
    assert (
        await db_scalar(
            web_server.database_url,
            "SELECT is_active FROM verified_queries WHERE id = :i",
            i=query_id,
        )
        is False
    )
