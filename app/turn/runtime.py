"""Everything a process needs to answer questions, opened and closed together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agent.chat import ChatAgent
from app.agent.prompt import SYSTEM_TEMPLATE
from app.config import Settings
from app.embeddings import build_embeddings
from app.questions.engine import QuestionEngine
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor
from app.turn.presence import Presence
from app.turn.runner import Turns
from db.engine import open_engine, owner_url
from db.migrate import require_head


@dataclass
class AgentRuntime:
    engine: AsyncEngine
    executor: SqlExecutor
    agent: ChatAgent
    turns: Turns
    presence: Presence | None = None  # this process as an instance (app.turn.presence)


def build_turns(
    *,
    engine: AsyncEngine,
    settings: Settings,
    executor: SqlExecutor,
    embeddings: Embeddings,
    search: ProductSearch | None = None,
    chat_model: BaseChatModel | None = None,
    prompt_template: Path = SYSTEM_TEMPLATE,
) -> Turns:
    """Turns over these services: ``.answerer`` is the agent, ``.questions`` the question
    engine (both on the same tools and semantic layer)."""
    agent = ChatAgent(
        engine=engine,
        settings=settings,
        executor=executor,
        search=search or ProductSearch(executor=executor, engine=engine, embeddings=embeddings),
        embeddings=embeddings,
        chat_model=chat_model,
        prompt_template=prompt_template,
    )
    questions = QuestionEngine(
        services=agent.services,
        embeddings=embeddings,
        min_similarity=settings.verified_min_similarity,
    )
    return Turns(
        engine=engine,
        answerer=agent,
        embeddings=embeddings,
        retry_s=settings.database_retry_s,
        timeout_s=settings.turn_timeout_s,
        questions=questions,
        engine_first=settings.engine_first,
        services=agent.services,
    )


@asynccontextmanager
async def open_agent(
    settings: Settings, *, chat_model: BaseChatModel | None = None
) -> AsyncIterator[AgentRuntime]:
    """The engine, the reader pools, a prepared agent and the turns it answers, this process
    registered as an instance (turns that dead ones left open are closed); all released on
    exit."""
    async with open_engine(settings) as engine:
        await require_head(engine)
        url = owner_url(settings)
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
        presence = Presence(engine, url, connect_timeout_s=settings.connect_timeout_s)
        try:
            await presence.start()
            turns = build_turns(
                engine=engine,
                settings=settings,
                executor=executor,
                embeddings=build_embeddings(settings),
                chat_model=chat_model,
            )
            turns.instance_id = presence.instance_id
            await turns.prepare()
            assert isinstance(turns.answerer, ChatAgent)
            try:
                yield AgentRuntime(engine, executor, turns.answerer, turns, presence)
            finally:
                await turns.pending.close(wait_s=settings.database_retry_s)
        finally:
            await presence.close()
            await executor.close()
