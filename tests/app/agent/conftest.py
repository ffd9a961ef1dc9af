"""A seeded, embedded demo shop and a factory of agents over it (real tools, real data)."""

from __future__ import annotations

from datetime import date

import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import text

from app.embeddings import LocalEmbeddings
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor
from app.turn.runner import Turns
from app.turn.runtime import build_turns
from db.embed import embed_tenant
from db.seed import seed_tenant
from db.tenants import get_tenant

END = date(2026, 11, 22)
PRODUCTS = 170  # 5 per leaf category: quick to embed, enough for every example


@pytest.fixture(scope="module")
def embeddings():
    return LocalEmbeddings()


@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings, embeddings):
    """The demo shop 'agent-shop' (seeded, embedded) and a second tenant 'agent-other'."""
    for slug, seed in (("agent-shop", 41), ("agent-other", 42)):
        await seed_tenant(
            engine, settings, slug=slug, seed=seed, orders=300, end=END, products=PRODUCTS
        )
    async with engine.begin() as connection:
        tenant = await get_tenant(connection, "agent-shop")
        await embed_tenant(connection, tenant_id=tenant.id, slug=tenant.slug, embeddings=embeddings)
    return tenant


@pytest_asyncio.fixture(scope="module")
async def tools(engine, settings, database_url, embeddings, shop):
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=database_url)
    yield executor, ProductSearch(executor=executor, engine=engine, embeddings=embeddings)
    await executor.close()


@pytest.fixture
def make_agent(engine, settings, embeddings, tools):
    """Factory: turns answered by an agent with the given chat model (None: the model from the
    settings); the agent is ``.answerer``."""
    executor, search = tools

    def make(chat_model=None, **overrides) -> Turns:
        """The agent's tests are about the model path: the question engine answers first
        only when a test asks for it (``engine_first=True``)."""
        if "openai_api_key" in overrides:
            overrides["openai_api_key"] = SecretStr(overrides["openai_api_key"])
        return build_turns(
            engine=engine,
            settings=settings.model_copy(update={"engine_first": False, **overrides}),
            executor=executor,
            search=search,
            embeddings=embeddings,
            chat_model=chat_model,
        )

    return make


async def stored_messages(engine, session_id) -> list[dict]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT * FROM chat_messages WHERE session_id = :s ORDER BY id"), {"s": session_id}
        )
        return [dict(row._mapping) for row in rows]


async def user_rows(engine, question: str) -> int:
    """How many times ``question`` is stored as a user's message."""
    async with engine.connect() as connection:
        return int(
            await connection.scalar(
                text("SELECT count(*) FROM chat_messages WHERE role = 'user' AND content = :q"),
                {"q": question},
            )
        )
