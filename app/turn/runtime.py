"""Everything a process needs to answer questions, opened and closed together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agent.chat import ChatAgent
from app.config import Settings
from app.embeddings import build_embeddings
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor
from app.turn.runner import Turns
from db.engine import open_engine, owner_url


@dataclass
class AgentRuntime:
    engine: AsyncEngine
    executor: SqlExecutor
    agent: ChatAgent
    turns: Turns


@asynccontextmanager
async def open_agent(
    settings: Settings, *, chat_model: BaseChatModel | None = None
) -> AsyncIterator[AgentRuntime]:
    """The engine, the reader pools, a prepared agent and the turns it answers; all released
    on exit."""
    async with open_engine(settings) as engine:
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=owner_url(settings))
        try:
            embeddings = build_embeddings(settings)
            agent = ChatAgent(
                engine=engine,
                settings=settings,
                executor=executor,
                search=ProductSearch(executor=executor, engine=engine, embeddings=embeddings),
                embeddings=embeddings,
                chat_model=chat_model,
            )
            turns = Turns(engine=engine, answerer=agent, embeddings=embeddings)
            await turns.prepare()
            yield AgentRuntime(engine, executor, agent, turns)
        finally:
            await executor.close()
