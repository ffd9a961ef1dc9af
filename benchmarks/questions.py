"""Answers without a model: how long the question engine takes on the demo shop.

    python benchmarks/questions.py            # the demo shop (20,000 orders), 10 rounds
    python benchmarks/questions.py --quick    # 3,000 orders, 3 rounds

On a scratch database (BICHAT_DATABASE_URL's server, or an embedded one) it seeds the demo
shop ending 2026-11-22, embeds its products, computes its bundle rules, freezes the clock on
that day, and asks a fixed list of questions (metric questions of every shape, a follow-up,
product searches, bundle rules, a clarification, a decline) in offline mode, each as a whole
turn (question stored, verified questions looked up, engine, tool calls stored, answer
stored). For each answer it times the parts the engine adds: reading the question (parse),
planning and compiling its semantic query (compile) and running the tool (SQL, or the search
with its embedding), and the whole turn. Goal: the engine's answer (parse + compile + SQL)
p95 <= 150 ms. Prints a summary and one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import migrated_scratch

from app.answering.question import Question
from app.config import load_settings
from app.embeddings import LocalEmbeddings
from app.questions.engine import QuestionEngine
from app.questions.understand import understand
from app.semantic.periods import FrozenClock
from app.semantic.query import SemanticQuery
from app.tools import registry
from app.tools.sql import SqlExecutor
from app.tools.tool import ToolContext
from app.turn.runtime import build_turns
from db.embed import embed_tenant
from db.seed import seed_tenant
from db.tenants import get_tenant
from tests.app.questions.conftest import NOW

END = date(2026, 11, 22)
QUESTIONS = (
    # (question, follows the one before)
    ("What was our revenue last month?", False),
    ("revenue by channel this year compared with last year", False),
    ("and by payment method?", True),
    ("top 10 products by units sold in the last 90 days", False),
    ("average order value by customer segment last quarter", False),
    ("daily orders for the last 30 days", False),
    ("how many new customers did we get per month in 2025", False),
    ("refund rate by channel this year", False),
    ("the 5 brands with the best average rating", False),
    ("what share of revenue comes from each department", False),
    ("find a waterproof jacket under $150", False),
    ("Which products are often bought together?", False),
    ("Which one is the best?", False),
    ("What is the email of our best customer?", False),
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def parts(engine: QuestionEngine, turns: Any, tenant: Any, question: str) -> dict[str, float]:
    """The engine's own steps for one question, timed apart (no follow-up context)."""
    asked = Question(tenant, uuid.uuid4(), question)
    started = time.perf_counter()
    context = await engine.context(asked)
    intent = understand(question, context)
    parse = (time.perf_counter() - started) * 1000
    compile_ms = run_ms = 0.0
    if intent.tool == registry.QUERY_METRICS:
        started = time.perf_counter()
        prepared = await engine.semantic.prepare(tenant, SemanticQuery.parse(intent.arguments))
        compile_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        await engine.services.executor.run(tenant_id=tenant.id, sql=prepared.compiled.sql)
        run_ms = (time.perf_counter() - started) * 1000
    elif intent.tool is not None:
        tool = registry.tool_named(intent.tool)
        assert tool is not None
        started = time.perf_counter()
        await registry.invoke(tool, ToolContext(tenant, None, engine.services), intent.arguments)
        run_ms = (time.perf_counter() - started) * 1000
    return {"parse": parse, "compile": compile_ms, "run": run_ms}


async def main(quick: bool) -> None:
    orders, rounds = (3_000, 3) if quick else (20_000, 10)
    async with migrated_scratch() as (url, engine):
        settings = load_settings(database_url=url, model="offline")
        await seed_tenant(engine, settings, slug="bench", seed=7, orders=orders, end=END)
        embeddings = LocalEmbeddings()
        async with engine.begin() as connection:
            tenant = await get_tenant(connection, "bench")
            await embed_tenant(connection, tenant_id=tenant.id, slug="bench", embeddings=embeddings)
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
        turns = build_turns(
            engine=engine, settings=settings, executor=executor, embeddings=embeddings
        )
        await turns.prepare()
        questions_engine = turns.questions
        assert isinstance(questions_engine, QuestionEngine)
        questions_engine.semantic.clock = FrozenClock(NOW)
        figures = await measure(turns, questions_engine, tenant, rounds)
        figures |= {"orders": orders, "rounds": rounds, "questions": len(QUESTIONS)}
        await executor.close()
    report(figures)


async def measure(turns: Any, engine: QuestionEngine, tenant: Any, rounds: int) -> dict[str, Any]:
    answers, whole, parse, compile_ms, run = [], [], [], [], []
    for round_number in range(rounds + 1):  # the first round warms up (caches, the model)
        session = None
        for question, follows in QUESTIONS:
            started = time.perf_counter()
            result = await turns.ask(
                tenant=tenant, question=question, session_id=session if follows else None
            )
            total = (time.perf_counter() - started) * 1000
            session = result.session_id
            assert result.path == "engine" and result.error is None, result.answer
            own = await parts(engine, turns, tenant, question)
            if round_number == 0:
                continue
            whole.append(total)
            parse.append(own["parse"])
            compile_ms.append(own["compile"])
            run.append(own["run"])
            answers.append(own["parse"] + own["compile"] + own["run"])
    return {
        "answer_p50_ms": round(statistics.median(answers), 2),
        "answer_p95_ms": round(percentile(answers, 0.95), 2),
        "parse_p50_ms": round(statistics.median(parse), 2),
        "parse_p95_ms": round(percentile(parse, 0.95), 2),
        "compile_p50_ms": round(statistics.median([c for c in compile_ms if c]), 2),
        "run_p50_ms": round(statistics.median([r for r in run if r]), 2),
        "turn_p50_ms": round(statistics.median(whole), 2),
        "turn_p95_ms": round(percentile(whole, 0.95), 2),
        "goal_met": percentile(answers, 0.95) <= 150,
    }


def report(figures: dict[str, Any]) -> None:
    print(
        f"{figures['questions']} questions x {figures['rounds']} rounds on a "
        f"{figures['orders']:,}-order demo shop, offline (question engine)"
    )
    print(
        f"engine answer (parse + compile + SQL): p50 {figures['answer_p50_ms']} ms, "
        f"p95 {figures['answer_p95_ms']} ms (goal p95 <= 150 ms)"
    )
    print(
        f"  parse p50 {figures['parse_p50_ms']} / p95 {figures['parse_p95_ms']} ms; compile "
        f"p50 {figures['compile_p50_ms']} ms; tool run p50 {figures['run_p50_ms']} ms"
    )
    print(
        f"whole turn (stored, verified questions looked up, charts drawn): p50 "
        f"{figures['turn_p50_ms']} ms, p95 {figures['turn_p95_ms']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller shop, fewer rounds")
    asyncio.run(main(parser.parse_args().quick))
