"""The REST API against a real server (uvicorn thread, the seeded shop ``web-shop`` and the
empty ``web-other``), over real HTTP with personal tokens: each endpoint, the shop and user
scope, tokens refused at once, the guard's refusals, rate limits, questions as stored turns."""

from __future__ import annotations

import pytest

from app.sqlguard import UnsafeSQLError, check_sql
from app.store import review
from app.web.api_limits import TokenLimits
from app.web.state import get_state
from db.engine import create_engine
from tests.app.web.api_client import (
    api,
    make_token,
    new_user,
    owner_query,
    problem_of,
    revoke,
    server_sent_events,
)
from tests.app.web.test_admin import client_for

VERIFIED_QUESTION = "What was our total revenue last month?"  # prompts/examples.yaml
API_PATHS = {
    "/products",
    "/analytics/top-products",
    "/rules",
    "/metrics",
    "/query",
    "/sql",
    "/ask",
    "/conversations",
    "/conversations/{conversation_id}",
}


@pytest.fixture
async def bob(web_server):
    return await make_token(web_server.database_url, "web-shop", "bob")


@pytest.fixture
async def eve(web_server):
    return await make_token(web_server.database_url, "web-other", "eve")


async def test_the_openapi_document_describes_the_api_alone(web_server):
    async with api(web_server) as client:
        document = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert set(document["paths"]) == API_PATHS
    assert document["components"]["securitySchemes"]["API token"]["scheme"] == "bearer"
    assert "QueryMetricsInput" in document["components"]["schemas"]  # the tool's own schema
    assert docs.status_code == 200
    assert (
        "<script" not in docs.text
        and "default-src 'none'" in docs.headers["content-security-policy"]
    )
    for path in API_PATHS:
        assert path in docs.text


async def test_requests_without_a_valid_token_are_refused(web_server):
    async with api(web_server) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer bichat_nope"})
        basic = await client.get("/metrics", headers={"Authorization": "Basic YTpi"})
    assert problem_of(missing)["code"] == "token_required"
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert (wrong.status_code, problem_of(wrong)["code"]) == (401, "invalid_token")
    assert problem_of(basic)["code"] == "token_required"


async def test_products_are_listed_by_filters_in_pages(web_server, bob):
    url = web_server.database_url
    [(category, expected)] = await owner_query(
        url,
        "SELECT c.slug, count(*) FROM products p JOIN categories c ON c.id = p.category_id "
        "JOIN tenants t ON t.id = p.tenant_id WHERE t.slug = 'web-shop' AND p.is_active "
        "AND p.stock_quantity > 0 AND p.price BETWEEN 10 AND 400 "
        "GROUP BY c.slug ORDER BY count(*) DESC, c.slug LIMIT 1",
    )
    params = {"category": category, "min_price": 10, "max_price": 400, "in_stock": "true"}
    async with api(web_server) as client:
        first = (
            await client.get("/products", params=params | {"per_page": 2}, headers=bob.headers)
        ).json()
        everything = (
            await client.get("/products", params=params | {"per_page": 100}, headers=bob.headers)
        ).json()
        second = (
            await client.get(
                "/products", params=params | {"per_page": 2, "page": 2}, headers=bob.headers
            )
        ).json()
    assert first["total"] == everything["total"] == expected
    assert [p["sku"] for p in first["products"] + second["products"]] == [
        p["sku"] for p in everything["products"][:4]
    ]
    for product in everything["products"]:
        assert product["stock_quantity"] > 0 and 10 <= product["price"] <= 400
        assert product["category"] == category
    assert (
        everything["sql"].startswith("WITH RECURSIVE")
        and "in stock" in everything["interpretation"]
    )


async def test_product_search_ranks_by_the_text(web_server, bob):
    async with api(web_server) as client:
        found = (
            await client.get("/products", params={"q": "tent", "per_page": 5}, headers=bob.headers)
        ).json()
        bad = await client.get(
            "/products", params={"min_price": 50, "max_price": 5}, headers=bob.headers
        )
        unknown = await client.get("/products", params={"category": "no-such"}, headers=bob.headers)
    assert found["search"] == "tent" and found["sql"] is None and found["products"]
    assert found["products"][0]["matched"] and found["products"][0]["score"] > 0
    assert (bad.status_code, problem_of(bad)["code"]) == (400, "invalid_price_range")
    assert unknown.json()["total"] == 0  # a listing of an unknown category is empty


async def test_top_products_come_from_the_semantic_layer(web_server, bob):
    expected = await owner_query(
        web_server.database_url,
        "SELECT p.sku, sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id "
        "JOIN products p ON p.id = i.product_id JOIN tenants t ON t.id = o.tenant_id "
        "WHERE t.slug = 'web-shop' AND o.status IN ('paid', 'shipped', 'delivered') "
        "GROUP BY p.sku ORDER BY 2 DESC, 1 LIMIT 5",
    )
    async with api(web_server) as client:
        response = await client.get(
            "/analytics/top-products",
            params={"metric": "units", "period": "all", "limit": 5},
            headers=bob.headers,
        )
    body = response.json()
    assert response.status_code == 200, body
    assert [(p["sku"], p["units"]) for p in body["products"]] == [(s, int(n)) for s, n in expected]
    assert body["interpretation"].startswith("Units sold by product")
    assert "order_items" in body["sql"] and body["period"]["label"] == "all time"


async def test_bundle_rules_are_filtered_by_product_and_strength(web_server, bob):
    async with api(web_server) as client:
        strongest = (await client.get("/rules", params={"limit": 3}, headers=bob.headers)).json()
        sku = strongest["rules"][0]["antecedent_sku"]
        mine = (
            await client.get("/rules", params={"product": sku, "min_lift": 2}, headers=bob.headers)
        ).json()
        unknown = await client.get("/rules", params={"product": "NO-SUCH-SKU"}, headers=bob.headers)
    lifts = [r["lift"] for r in strongest["rules"]]
    assert len(lifts) == 3 and lifts == sorted(lifts, reverse=True)
    assert mine["rules"] and {r["antecedent_sku"] for r in mine["rules"]} == {sku}
    assert all(r["lift"] >= 2 for r in mine["rules"])
    assert "bundle_rules" in mine["sql"] and sku in mine["interpretation"]
    assert (unknown.status_code, problem_of(unknown)["code"]) == (404, "unknown_product")


async def test_metrics_and_semantic_queries(web_server, bob):
    async with api(web_server) as client:
        metrics = (await client.get("/metrics", headers=bob.headers)).json()
        by_channel = await client.post(
            "/query",
            json={"metrics": ["revenue", "orders"], "by": ["channel"], "period": "2026"},
            headers=bob.headers,
        )
        not_a_metric = await client.post("/query", json={"metrics": ["vibes"]}, headers=bob.headers)
        future = await client.post(
            "/query", json={"metrics": ["revenue"], "period": "2031"}, headers=bob.headers
        )
    assert {"revenue", "units", "orders"} <= {m["name"] for m in metrics["metrics"]}
    result = by_channel.json()
    assert by_channel.status_code == 200, result
    assert result["columns"][:3] == ["channel", "revenue", "orders"] and result["rows"]
    assert result["interpretation"].lower().startswith("revenue and orders by channel")
    assert result["sql"].lstrip().upper().startswith(("WITH", "SELECT"))
    assert (not_a_metric.status_code, problem_of(not_a_metric)["code"]) == (422, "invalid_input")
    assert "metrics" in problem_of(not_a_metric)["detail"]
    assert future.status_code == 400 and problem_of(future)["code"] == "future_period"


async def test_sql_runs_guarded_and_drop_table_is_refused_with_the_guards_code(web_server, bob):
    with pytest.raises(UnsafeSQLError) as guard:
        check_sql("DROP TABLE products")
    async with api(web_server) as client:
        counted = await client.post(
            "/sql", json={"sql": "SELECT count(*) AS n FROM orders"}, headers=bob.headers
        )
        dropped = await client.post(
            "/sql", json={"sql": "DROP TABLE products"}, headers=bob.headers
        )
        broken = await client.post(
            "/sql", json={"sql": "SELECT nope FROM orders"}, headers=bob.headers
        )
    [(orders,)] = await owner_query(
        web_server.database_url,
        "SELECT count(*) FROM orders o JOIN tenants t ON t.id = o.tenant_id WHERE t.slug = 'web-shop'",
    )
    assert counted.json()["rows"] == [[orders]] and counted.json()["sql"]
    assert dropped.status_code == 400
    assert problem_of(dropped)["code"] == guard.value.code == "not_read_only"
    assert (await owner_query(web_server.database_url, "SELECT to_regclass('products')"))[0][0]
    assert problem_of(broken)["code"] == "undefined_column" and "sqlstate" in broken.json()


async def test_a_token_of_one_shop_sees_nothing_of_another(web_server, bob, eve):
    async with api(web_server) as client:
        asked = (
            await client.post("/ask", json={"question": VERIFIED_QUESTION}, headers=bob.headers)
        ).json()
        seen = {
            "orders": (
                await client.post(
                    "/sql", json={"sql": "SELECT count(*) FROM orders"}, headers=eve.headers
                )
            ).json()["rows"],
            "products": (await client.get("/products", headers=eve.headers)).json()["total"],
            "rules": (await client.get("/rules", headers=eve.headers)).json()["rules"],
            "top": (
                await client.get(
                    "/analytics/top-products", params={"period": "all"}, headers=eve.headers
                )
            ).json()["rows"],
        }
        listed = (await client.get("/conversations", headers=eve.headers)).json()["sessions"]
        theirs = await client.get(f"/conversations/{asked['conversation_id']}", headers=eve.headers)
    assert seen == {"orders": [[0]], "products": 0, "rules": [], "top": []}
    assert {s["username"] for s in listed} <= {"eve"}  # her own (the chat tests' questions)
    assert asked["conversation_id"] not in {s["id"] for s in listed}
    assert (theirs.status_code, problem_of(theirs)["code"]) == (404, "unknown_session")


async def test_a_revoked_or_expired_token_is_refused_at_once(web_server, bob):
    async with api(web_server) as client:
        assert (await client.get("/metrics", headers=bob.headers)).status_code == 200
        await revoke(web_server.database_url, bob)
        revoked = await client.get("/metrics", headers=bob.headers)
        expiring = await make_token(web_server.database_url, "web-shop", "bob", expires_days=1)
        assert (await client.get("/metrics", headers=expiring.headers)).status_code == 200
        await owner_query(
            web_server.database_url,
            "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = :id",
            id=expiring.id,
        )
        expired = await client.get("/metrics", headers=expiring.headers)
    assert (revoked.status_code, problem_of(revoked)["code"]) == (401, "token_revoked")
    assert (expired.status_code, problem_of(expired)["code"]) == (401, "token_expired")


async def test_a_deactivated_users_token_is_refused_at_once(web_server):
    username = await new_user(web_server.database_url, "web-shop")
    token = await make_token(web_server.database_url, "web-shop", username)
    async with api(web_server) as client:
        assert (await client.get("/metrics", headers=token.headers)).status_code == 200
        await owner_query(
            web_server.database_url,
            "UPDATE app_users SET is_active = false WHERE username = :u",
            u=username,
        )
        refused = await client.post("/sql", json={"sql": "SELECT 1"}, headers=token.headers)
    assert (refused.status_code, problem_of(refused)["code"]) == (401, "user_inactive")


@pytest.fixture
def tight_limits(web_server):
    state = get_state()
    kept = state.api_limits
    state.api_limits = TokenLimits(requests="3/minute", asks="1/minute")
    yield state.api_limits
    state.api_limits = kept


async def test_a_spent_rate_limit_answers_429_with_retry_after(web_server, bob, eve, tight_limits):
    async with api(web_server) as client:
        statuses = [
            (await client.get("/metrics", headers=bob.headers)).status_code for _ in range(4)
        ]
        limited = await client.get("/metrics", headers=bob.headers)
        other = await client.get("/metrics", headers=eve.headers)
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 60
    assert problem_of(limited)["code"] == "rate_limited"
    assert problem_of(limited)["retry_after_s"] == int(limited.headers["retry-after"])
    assert other.status_code == 200  # per token


async def test_the_ask_limit_counts_questions_alone(web_server, bob, tight_limits):
    async with api(web_server) as client:
        first = await client.post("/ask", json={"question": VERIFIED_QUESTION}, headers=bob.headers)
        second = await client.post(
            "/ask", json={"question": VERIFIED_QUESTION}, headers=bob.headers
        )
    assert first.status_code == 200
    assert (second.status_code, problem_of(second)["code"]) == (429, "rate_limited")
    assert "questions a minute" in problem_of(second)["detail"]


async def test_ask_is_a_stored_turn_of_the_api_channel(offline, bob):
    async with api(offline) as client:
        response = await client.post(
            "/ask", json={"question": VERIFIED_QUESTION}, headers=bob.headers
        )
        answer = response.json()
        stored = (
            await client.get(f"/conversations/{answer['conversation_id']}", headers=bob.headers)
        ).json()
        follow_up = await client.post(
            "/ask",
            json={
                "question": "Show monthly revenue for the last 12 months.",
                "conversation_id": answer["conversation_id"],
            },
            headers=bob.headers,
        )
        mine = (
            await client.get("/conversations", params={"channel": "api"}, headers=bob.headers)
        ).json()
    assert response.status_code == 200, answer
    assert "From the verified question" in answer["answer"] and answer["sql"]
    assert answer["tables"][0]["columns"] == ["revenue"] and answer["usage"]["model_calls"] == 0
    assert [m["role"] for m in stored["messages"]] == [
        "user",
        "tool",
        "assistant",
    ]  # the engine: no model call
    assert stored["messages"][0]["content"] == VERIFIED_QUESTION
    assert (stored["channel"], stored["api_token_id"], stored["token_name"]) == (
        "api",
        bob.id,
        "test",
    )
    assert follow_up.json()["conversation_id"] == answer["conversation_id"]
    assert answer["conversation_id"] in {s["id"] for s in mine["sessions"]}
    engine = create_engine(offline.database_url)
    try:
        listing = await review.list_sessions(
            engine, tenant_id=bob.tenant_id, filters=review.parse_filters({"channel": "api"})
        )
    finally:
        await engine.dispose()
    assert answer["conversation_id"] in {str(row.id) for row in listing.rows}
    admin = client_for(offline, "ann")
    page = admin.get("/admin/conversations", params={"channel": "api"})
    assert f"session-{answer['conversation_id']}" in page.text
    transcript = admin.get(f"/admin/conversations/{answer['conversation_id']}")
    assert 'id="channel">api<' in transcript.text and 'id="token">test<' in transcript.text


async def test_ask_streams_the_turns_typed_events(offline, bob):
    async with api(offline) as client:
        response = await client.post(
            "/ask",
            json={"question": VERIFIED_QUESTION},
            headers=bob.headers | {"Accept": "text/event-stream"},
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = server_sent_events(response.text)
    names = [name for name, _ in events]
    assert names[:2] == ["tool_started", "tool_finished"] and names[-1] == "answered"
    assert set(names[2:-1]) == {"token"}
    streamed = "".join(data["text"] for name, data in events if name == "token")
    result = events[-1][1]
    assert streamed == result["answer"] and result["tables"][0]["rows"]
    assert events[1][1]["call"]["output"]["row_count"] == 1


async def test_bad_questions_and_others_conversations_are_problems(web_server, bob):
    ann = await make_token(web_server.database_url, "web-shop", "ann")
    async with api(web_server) as client:
        asked = (
            await client.post("/ask", json={"question": VERIFIED_QUESTION}, headers=ann.headers)
        ).json()
        blank = await client.post("/ask", json={"question": "   "}, headers=bob.headers)
        theirs = await client.get(f"/conversations/{asked['conversation_id']}", headers=bob.headers)
        continue_theirs = await client.post(
            "/ask",
            json={"question": "And before?", "conversation_id": asked["conversation_id"]},
            headers=bob.headers | {"Accept": "text/event-stream"},
        )
        junk = await client.get("/conversations/not-a-uuid", headers=bob.headers)
    assert (blank.status_code, problem_of(blank)["code"]) == (400, "empty_question")
    assert (theirs.status_code, problem_of(theirs)["code"]) == (404, "unknown_session")
    assert (continue_theirs.status_code, problem_of(continue_theirs)["code"]) == (
        404,
        "unknown_session",
    )
    assert junk.status_code == 404
