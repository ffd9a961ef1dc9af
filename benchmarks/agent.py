"""Per-turn overhead of the agent, and the size of its prompt against LangChain's table info.

    python benchmarks/agent.py            # 60 turns on a 5,000-order demo shop
    python benchmarks/agent.py --quick    # 20 turns on 1,000 orders

1. Overhead: a scripted chat model (no network, near-zero model time) drives full turns:
   question stored, history read, question embedded, verified examples looked up, prompt
   built, agent compiled, one run_sql call (guard, reader pool, a small query), every model
   and tool call stored, answer returned. Time spent inside the model is measured and taken
   out; the query's own database time is reported too.
2. Prompt tokens (o200k_base, the encoding of gpt-4o / gpt-4.1, loaded from the npm package
   `tiktoken` because Python's tiktoken downloads it): our system prompt (with its 4 examples)
   plus the three tool schemas, against LangChain's ``SQLDatabase.get_table_info()`` with 3
   sample rows per table for the same tables (owner connection through psycopg2).
Needs langchain-community and npm (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scratch import migrated_scratch
from tokens import o200k_base

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.scripted_model

from langchain_core.utils.function_calling import convert_to_openai_tool

from app.agent.chat import PROMPT_EXAMPLES, ChatAgent
from app.agent.prompt import system_prompt
from app.agent.tools import build_agent_tools
from app.config import load_settings
from app.embeddings import LocalEmbeddings
from app.tools.sql import READER_TABLES, SqlExecutor
from app.turn.runner import Turns
from app.turn.runtime import build_turns
from db.seed import seed_tenant
from db.tenants import get_tenant
from tests.scripted_model import Call, ScriptedChatModel

QUESTIONS = [
    "How many orders did we get by channel?",
    "What was revenue last month?",
    "Which customers buy the most?",
    "How many products are out of stock?",
]
SQL = "SELECT channel, count(*) AS orders FROM orders GROUP BY channel ORDER BY orders DESC"


class TimedModel(ScriptedChatModel):
    """The scripted model, timing itself so its time can be taken out of the turn."""

    spent_s: float = 0.0

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        async for chunk in super()._astream(*args, **kwargs):
            self.spent_s += time.perf_counter() - started
            yield chunk
            started = time.perf_counter()


def endless_script() -> list[Any]:
    """run_sql, then an answer, turn after turn."""
    return [Call("run_sql", {"sql": SQL}), "Web leads."] * 10_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure_turns(agent: Turns, tenant: Any, turns: int) -> dict[str, float]:
    model = TimedModel(script=endless_script())
    agent.answerer.chat_model = model  # type: ignore[attr-defined]
    overheads, queries, totals = [], [], []
    for index in range(turns + 3):  # 3 warm-up turns
        spent_before = model.spent_s
        started = time.perf_counter()
        result = await agent.ask(tenant=tenant, question=QUESTIONS[index % len(QUESTIONS)])
        total = time.perf_counter() - started
        assert result.error is None and result.tool_calls[0].error is None
        if index >= 3:
            query_ms = result.tool_calls[0].output["elapsed_ms"]
            totals.append(total * 1000)
            overheads.append((total - (model.spent_s - spent_before)) * 1000)
            queries.append(query_ms)
    return {
        "turn_p50_ms": statistics.median(totals),
        "overhead_p50_ms": statistics.median(overheads),
        "overhead_p95_ms": percentile(overheads, 0.95),
        "query_p50_ms": statistics.median(queries),
        "overhead_without_query_p95_ms": percentile(
            [o - q for o, q in zip(overheads, queries, strict=True)], 0.95
        ),
    }


async def our_prompt(turns: Turns, agent: ChatAgent, tenant: Any) -> str:
    """What the model is sent besides the conversation: system prompt and tool schemas."""
    matches = await turns.similar(tenant, QUESTIONS[1])
    assert agent.parts is not None
    prompt = system_prompt(
        parts=agent.parts, tenant=tenant, examples=matches[:PROMPT_EXAMPLES], now=datetime.now(UTC)
    )
    tools = build_agent_tools()
    schemas = json.dumps([convert_to_openai_tool(t) for t in tools])
    return prompt + "\n" + schemas


def langchain_table_info(url: str) -> str:
    from langchain_community.utilities import SQLDatabase

    database = SQLDatabase.from_uri(
        url.replace("postgresql://", "postgresql+psycopg2://", 1),
        include_tables=sorted(READER_TABLES),
        sample_rows_in_table_info=3,
    )
    return str(database.get_table_info())


async def main(quick: bool) -> None:
    orders, turns = (1_000, 20) if quick else (5_000, 60)
    async with migrated_scratch() as (url, engine):
        settings = load_settings(database_url=url)
        await seed_tenant(
            engine, settings, slug="bench", seed=7, orders=orders, end=date(2026, 11, 22)
        )
        async with engine.connect() as connection:
            tenant = await get_tenant(connection, "bench")
        embeddings = LocalEmbeddings()
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
        runner = build_turns(
            engine=engine,
            settings=settings.model_copy(update={"engine_first": False}),  # the agent's path
            executor=executor,
            embeddings=embeddings,
            chat_model=ScriptedChatModel(script=[]),
        )
        agent = runner.answerer
        assert isinstance(agent, ChatAgent)
        await runner.prepare()
        figures: dict[str, Any] = await measure_turns(runner, tenant, turns)
        encoding = o200k_base()
        ours = len(encoding.encode(await our_prompt(runner, agent, tenant)))
        theirs = len(encoding.encode(await asyncio.to_thread(langchain_table_info, url)))
        figures |= {
            "turns": turns,
            "our_prompt_tokens": ours,
            "langchain_table_info_tokens": theirs,
        }
        figures["prompt_ratio"] = ours / theirs
        await executor.close()
    report(figures)


def report(figures: dict[str, Any]) -> None:
    print(f"turns measured: {figures['turns']} (scripted model, one run_sql call each)")
    print(
        f"per-turn overhead excluding model time: p50 {figures['overhead_p50_ms']:.1f} ms, "
        f"p95 {figures['overhead_p95_ms']:.1f} ms (goal p95 <= 50 ms); "
        f"of which the query itself p50 {figures['query_p50_ms']:.1f} ms"
    )
    print(
        f"prompt tokens (o200k_base): ours {figures['our_prompt_tokens']} (system prompt with "
        f"schema, metrics, 4 examples + 3 tool schemas) vs LangChain get_table_info with 3 "
        f"sample rows {figures['langchain_table_info_tokens']}: "
        f"{figures['prompt_ratio']:.0%} (goal <= 60%)"
    )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 turns on a small shop")
    asyncio.run(main(parser.parse_args().quick))
