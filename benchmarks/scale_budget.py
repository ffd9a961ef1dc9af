"""200 shops asking at once: reader connections with and without the connection budget.

    python benchmarks/scale_budget.py                # 200 shops, 2 questions each, budget 40
    python benchmarks/scale_budget.py --quick        # 50 shops, budget 10
    python benchmarks/scale_budget.py --shops 300 --budget 60

Each shop is a tenant with its own reader role. Every shop asks its questions at the same
moment through one ``SqlExecutor`` (one process), twice:
- budget: ``BICHAT_READER_MAX_CONNECTIONS`` = ``--budget``;
- baseline: a budget as large as the shops' pools together (what per-tenant pools alone do).
While they run, the server's pg_stat_activity is sampled (reader sessions of the database).
Prints, per run: answered and failed questions, peak reader sessions seen by the server,
connections opened and closed to make room, p50/p95 of the wait for a connection and of the
whole call, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import create_database, drop_database, scratch_server

QUESTION = "SELECT count(*) AS n FROM generate_series(1, 200000) AS g WHERE g % 7 = 3"
SESSIONS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE application_name = 'bichat-reader' AND datname = current_database()"
)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def watch(url: str, samples: list[int], stop: asyncio.Event) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            samples.append(int(await connection.fetchval(SESSIONS)))
            await asyncio.sleep(0.005)
    finally:
        await connection.close()


async def run_once(engine, settings, url, shops, *, budget: int, questions: int) -> dict:
    from app.tools.sql import SqlExecutor

    limited = settings.model_copy(update={"reader_max_connections": budget})
    executor = SqlExecutor(engine=engine, settings=limited, owner_url=url)
    samples: list[int] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(url, samples, stop))
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def ask(shop) -> None:
        started = time.perf_counter()
        try:
            await executor.run(tenant_id=shop, sql=QUESTION, timeout_ms=30_000)
        except Exception as error:  # counted and named in the summary
            code = getattr(error, "code", type(error).__name__)
            errors[code] = errors.get(code, 0) + 1
            return
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(ask(shop) for shop in shops for _ in range(questions)))
    finally:
        stop.set()
        await watcher
        await executor.close()
    stats = executor.budget.stats
    waits = [w * 1000 for w in stats.wait_s]
    return {
        "budget": budget,
        "questions": len(shops) * questions,
        "answered": len(latencies),
        "errors": errors,
        "peak_sessions": max(samples, default=0),
        "peak_counted": stats.peak,
        "opened": stats.opened,
        "evicted": stats.evicted,
        "waited": stats.waits,
        "wait_p50_ms": round(percentile(waits, 0.5), 1),
        "wait_p95_ms": round(percentile(waits, 0.95), 1),
        "call_p50_ms": round(percentile(latencies, 0.5), 1),
        "call_p95_ms": round(percentile(latencies, 0.95), 1),
        "wall_s": round(time.perf_counter() - started, 2),
    }


async def prepare(url: str, shops: int):
    from app.config import load_settings
    from db import migrate
    from db.engine import create_engine
    from tests.factories import empty_shops

    engine = create_engine(url)
    await migrate.upgrade(engine)
    settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    return engine, settings, await empty_shops(engine, settings, "shop", shops)


def show(label: str, run: dict) -> None:
    print(
        f"{label:9} budget {run['budget']:>4}: {run['answered']}/{run['questions']} answered, "
        f"errors {run['errors'] or 0}; peak sessions {run['peak_sessions']} "
        f"(counted {run['peak_counted']}); opened {run['opened']}, closed for room "
        f"{run['evicted']}; wait p50/p95 {run['wait_p50_ms']}/{run['wait_p95_ms']} ms; "
        f"call p50/p95 {run['call_p50_ms']}/{run['call_p95_ms']} ms; {run['wall_s']} s"
    )


async def main_async(shops: int, budget: int, questions: int) -> dict:
    server = scratch_server()
    url = await create_database(server)
    try:
        engine, settings, ids = await prepare(url, shops)
        try:
            runs = {
                "budget": await run_once(
                    engine, settings, url, ids, budget=budget, questions=questions
                ),
                "baseline": await run_once(
                    engine, settings, url, ids, budget=shops * 4, questions=questions
                ),
            }
        finally:
            await engine.dispose()
    finally:
        await drop_database(server, url)
    for label, run in runs.items():
        show(label, run)
    within = runs["budget"]["peak_sessions"] <= budget
    print(f"budget held: {within}; server max_connections default 100 on the embedded server")
    return {"shops": shops, "questions_each": questions, "budget_held": within, **runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 shops, budget 10")
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--questions", type=int, default=2, help="questions per shop")
    args = parser.parse_args()
    shops, budget = (50, 10) if args.quick else (args.shops, args.budget)
    summary = asyncio.run(main_async(shops, budget, args.questions))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
