"""Factories that build real rows in every table, for one tenant at a time."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.store.conversations import Message
from app.tools.tool import ToolContext, ToolServices
from db.models import APPLICATION_TABLES, BUSINESS_TABLES
from db.passwords import hash_password
from db.seed import seed_tenant
from db.tenants import create_tenant, get_tenant


async def insert(connection: AsyncConnection, table: str, **values: Any) -> Any:
    """Insert one row and return its primary key (``id`` or ``product_id``)."""
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    key = "product_id" if table == "product_embeddings" else "id"
    query = text(f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING {key}")
    return await connection.scalar(query, values)


def model_call(
    model: str, input_tokens: int, output_tokens: int, cost: str | None = None, **fields: Any
) -> Message:
    """An assistant row for one model call; ``cost`` in USD (None: unpriced); ``fields`` adds
    the rest (content, cached_input_tokens, latency_ms, tool_input...)."""
    return Message(
        role="assistant",
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=None if cost is None else Decimal(cost),
        **fields,
    )


def vector(seed: int) -> str:
    rng = random.Random(seed)
    return "[" + ",".join(f"{rng.uniform(-1, 1):.4f}" for _ in range(384)) + "]"


# Long: one row in every business and application table, in foreign-key order; a test of
# tenant deletion or isolation needs all of them at once, and each insert is one statement.
async def fill_tenant(connection: AsyncConnection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows in every business and application table (two each; four messages: a question and
    an answer per session); returns row counts."""
    t = tenant_id
    now = datetime.now(UTC)
    suffix = t.hex[:6]
    users = [
        await insert(
            connection,
            "app_users",
            tenant_id=t,
            username=f"user{i}-{suffix}",
            password_hash=hash_password("correct horse"),
            role="analyst",
        )
        for i in range(2)
    ]
    tokens = [
        await insert(
            connection,
            "api_tokens",
            tenant_id=t,
            user_id=u,
            name="script",
            prefix="bichat_test",
            token_sha256=f"{u:064x}",
        )
        for u in users
    ]
    sessions = [
        await insert(
            connection,
            "chat_sessions",
            tenant_id=t,
            user_id=u,
            title="q",
            channel="api",
            api_token_id=token,
        )
        for u, token in zip(users, tokens, strict=True)
    ]
    root = await insert(connection, "categories", tenant_id=t, name="Outdoor", slug="outdoor")
    leaf = await insert(
        connection, "categories", tenant_id=t, name="Tents", slug="tents", parent_id=root
    )
    products = [
        await insert(
            connection,
            "products",
            tenant_id=t,
            category_id=leaf,
            sku=f"SKU-{i}",
            name=f"Tent {i}",
            description="A light tent",
            brand="Acme",
            price=100 + i,
            cost=60,
            stock_quantity=5,
            specifications=json.dumps({"weight_kg": 2}),
        )
        for i in range(2)
    ]
    customers = [
        await insert(
            connection,
            "customers",
            tenant_id=t,
            customer_ref=f"C{i}",
            first_name="Ann",
            last_name="Lee",
            email=f"ann{i}@example.com",
            phone="+1 555 0100",
            date_of_birth=datetime(1990, 1, 1).date(),
            city="Austin",
            region="Texas",
            country="US",
            segment="consumer",
        )
        for i in range(2)
    ]
    orders = [
        await insert(
            connection,
            "orders",
            tenant_id=t,
            customer_id=customers[i],
            order_number=f"O{i}",
            status="delivered",
            channel="web",
            payment_method="card",
            subtotal=200,
            discount_amount=0,
            shipping_amount=5,
            tax_amount=10,
            total_amount=215,
            placed_at=now - timedelta(days=3),
            shipped_at=now - timedelta(days=2),
            delivered_at=now - timedelta(days=1),
        )
        for i in range(2)
    ]
    for i in range(2):
        await insert(
            connection,
            "order_items",
            tenant_id=t,
            order_id=orders[i],
            product_id=products[i],
            quantity=2,
            unit_price=100,
        )
        await insert(
            connection,
            "reviews",
            tenant_id=t,
            product_id=products[i],
            customer_id=customers[i],
            order_id=orders[i],
            rating=5,
            title="Great",
            body="Kept us dry.",
        )
        await insert(
            connection,
            "product_events",
            tenant_id=t,
            product_id=products[i],
            customer_id=customers[i],
            session_ref="s1",
            event_type="view",
            channel="web",
            occurred_at=now,
        )
        await insert(
            connection,
            "product_embeddings",
            tenant_id=t,
            product_id=products[i],
            model="test",
            content_sha256="0" * 64,
            embedding=vector(i),
        )
        await insert(
            connection,
            "search_logs",
            tenant_id=t,
            chat_session_id=sessions[i],
            query="tent",
            search_type="hybrid",
            results_count=1,
            response_time_ms=3.5,
        )
        await insert(
            connection,
            "chat_messages",
            tenant_id=t,
            session_id=sessions[i],
            role="user",
            content="How many tents?",
        )
        await insert(  # a model call: the trigger adds a row to chat_usage_daily
            connection,
            "chat_messages",
            tenant_id=t,
            session_id=sessions[i],
            role="assistant",
            content="Two tents.",
            model="gpt-4o-mini",
            input_tokens=100,
            output_tokens=10,
        )
        await insert(connection, "verified_queries", tenant_id=t, question=f"Q{i}", sql="SELECT 1")
    for antecedent, consequent in ((0, 1), (1, 0)):
        await insert(
            connection,
            "bundle_rules",
            tenant_id=t,
            antecedent_product_id=products[antecedent],
            consequent_product_id=products[consequent],
            support=0.5,
            confidence=1.0,
            lift=2.0,
            order_count=1,
        )
    for value in ("web", "store"):
        await connection.execute(
            text(
                "INSERT INTO dimension_values (tenant_id, dimension, value, label) "
                "VALUES (:t, 'channel', :v, :v)"
            ),
            {"t": t, "v": value},
        )
    await connection.execute(
        text("INSERT INTO dimension_value_refreshes (tenant_id, value_count) VALUES (:t, 2)"),
        {"t": t},
    )
    boards = [await insert(connection, "dashboards", tenant_id=t, user_id=u) for u in users]
    tiles = [
        await insert(
            connection,
            "dashboard_tiles",
            tenant_id=t,
            dashboard_id=board,
            title="Orders",
            kind="sql",
            sql="SELECT count(*) FROM orders",
        )
        for board in boards
    ]
    digests = [
        await insert(
            connection,
            "digests",
            tenant_id=t,
            user_id=u,
            tile_id=tile,
            frequency="daily",
            hour=8,
            email="owner@example.com",
        )
        for u, tile in zip(users, tiles, strict=True)
    ]
    for digest in digests:
        await insert(connection, "digest_runs", tenant_id=t, digest_id=digest, due_at=now)
    counts = {table: 2 for table in (*BUSINESS_TABLES, *APPLICATION_TABLES)}
    counts.update(tenants=1, tenant_readers=1, chat_messages=4)  # a question and an answer each
    counts.update(dimension_value_refreshes=1)  # one per shop
    return counts


async def tool_context(engine, slug, *, executor=None, search=None) -> ToolContext:
    """What a tool call of the tenant ``slug`` gets, outside any conversation."""
    async with engine.connect() as connection:
        tenant = await get_tenant(connection, slug)
    return ToolContext(tenant, None, ToolServices(executor=executor, search=search))


async def seeded_shop(engine, settings, slug: str, **options: Any) -> uuid.UUID:
    """A tenant ``slug`` with generated shop data (``db.seed.seed_tenant`` ``options``); its id."""
    await seed_tenant(engine, settings, slug=slug, **options)
    async with engine.connect() as connection:
        return (await get_tenant(connection, slug)).id


async def empty_shops(engine, settings, prefix: str, count: int) -> list[uuid.UUID]:
    """``count`` tenants ``{prefix}-0`` ... without shop data (many shops at once); their ids."""
    async with engine.begin() as connection:
        return [
            (
                await create_tenant(
                    connection, slug=f"{prefix}-{n}", name=f"Shop {n}", settings=settings
                )
            ).id
            for n in range(count)
        ]
