"""The semantic layer: compile time, and compiled queries' execution time against hand-written.

    python benchmarks/semantic.py            # shops of 20,000 and 5,000 orders, 15 rounds
    python benchmarks/semantic.py --quick    # 3,000 and 1,500 orders, 5 rounds

On a scratch database (the server in BICHAT_DATABASE_URL, or an embedded one) it seeds the
two shops of tests/app/semantic/conftest.py (Europe/London; Pacific/Kiritimati with Sunday
weeks), freezes the clock at 2026-11-22 12:00 UTC, and for the hand-written cases of
tests/app/semantic/cases.py measures:
- compile time: planning (names, values index, periods) plus compiling to SQL text, per
  case, many times (p50 / p95 over all); goal p50 <= 1 ms;
- execution time of the compiled SQL and of the case's hand-written SQL, each checked by the
  guard once and then run on the shop's reader connection (SqlExecutor.execute: the same
  pool, settings and result reading), alternating within each round so drift on the machine
  hits both alike; the ratio compiled / hand-written per case (median over rounds), then the
  median and p95 of the ratios over the cases; goal median <= 1.2.
It also checks that both return the same rows on these (larger) shops. Prints a summary and
one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.app.semantic.cases

from scratch import create_database, drop_database, scratch_server
from sqlalchemy import text

from app.config import load_settings
from app.semantic.compiler import compile_plan
from app.semantic.plan import build_plan
from app.semantic.query import SemanticQuery
from app.semantic.service import SemanticLayer
from app.tools.sql import SqlExecutor
from db import migrate
from db.engine import create_engine
from db.seed import seed_tenant
from db.tenants import TenantRecord, get_tenant
from tests.app.semantic.cases import CASES, Case
from tests.app.semantic.conftest import CLOCK, NOW
from tests.app.semantic.test_correctness import projected, same, sort_key

END = date(2026, 11, 22)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def seed_shops(engine: Any, settings: Any, orders: int) -> dict[str, TenantRecord]:
    await seed_tenant(engine, settings, slug="sem-london", seed=41, orders=orders, end=END)
    await seed_tenant(engine, settings, slug="sem-kiritimati", seed=43, orders=orders // 4, end=END)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE tenants SET timezone = 'Pacific/Kiritimati', week_start = 'sunday' "
                "WHERE slug = 'sem-kiritimati'"
            )
        )
        return {
            "london": await get_tenant(connection, "sem-london"),
            "kiritimati": await get_tenant(connection, "sem-kiritimati"),
        }


def compile_times(
    layer: SemanticLayer,
    shops: dict[str, TenantRecord],
    indexes: dict[str, Any],
    rounds: int,
) -> dict[str, list[float]]:
    """Milliseconds to plan and compile each case, ``rounds`` times (cases interleaved)."""
    times: dict[str, list[float]] = {case.name: [] for case in CASES}
    for _ in range(rounds):
        for case in CASES:
            tenant = shops[case.shop]
            started = time.perf_counter()
            query = SemanticQuery.parse(case.query)
            plan = build_plan(
                query,
                layer.model,
                indexes[case.shop],
                timezone=tenant.timezone,
                week_start=tenant.week_start,
                now=NOW,
            )
            compile_plan(layer.model, plan)
            times[case.name].append((time.perf_counter() - started) * 1000)
    return times


async def timed(executor: SqlExecutor, tenant: TenantRecord, checked: str) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await executor.execute(tenant.id, checked, max_rows=10_000, timeout_ms=30_000)
    return (time.perf_counter() - started) * 1000, result


def equal(case: Case, compiled: Any, hand: Any) -> bool:
    rows = projected(compiled.columns, compiled.rows, hand.columns)
    expected, actual = hand.rows, rows
    if not case.ordered:
        expected, actual = sorted(expected, key=sort_key), sorted(actual, key=sort_key)
    return len(expected) == len(actual) and all(
        all(same(w, g) for w, g in zip(want, got, strict=True))
        for want, got in zip(expected, actual, strict=True)
    )


async def execution(
    layer: SemanticLayer, executor: SqlExecutor, shops: dict[str, TenantRecord], rounds: int
) -> tuple[dict[str, dict[str, float]], list[str]]:
    figures: dict[str, dict[str, float]] = {}
    different: list[str] = []
    for case in CASES:
        tenant = shops[case.shop]
        plan = await layer.plan(tenant, SemanticQuery.parse(case.query))
        compiled_sql = executor.checked(compile_plan(layer.model, plan).sql)
        hand_sql = executor.checked(case.sql)
        mine, theirs = [], []
        for _ in range(2):  # warm-up (plans, caches)
            _, compiled = await timed(executor, tenant, compiled_sql)
            _, hand = await timed(executor, tenant, hand_sql)
        if not equal(case, compiled, hand):
            different.append(case.name)
        for round_ in range(rounds):
            pair = [(mine, compiled_sql), (theirs, hand_sql)]
            for bucket, sql in pair if round_ % 2 == 0 else reversed(pair):
                bucket.append((await timed(executor, tenant, sql))[0])
        figures[case.name] = {
            "compiled_ms": round(statistics.median(mine), 3),
            "hand_ms": round(statistics.median(theirs), 3),
            "ratio": round(statistics.median(mine) / statistics.median(theirs), 3),
        }
    return figures, different


async def main(quick: bool) -> None:
    orders = 3000 if quick else 20_000
    rounds = 5 if quick else 15
    server = scratch_server()
    url = await create_database(server)
    engine = create_engine(url)
    settings = load_settings(database_url=url, data_dir=Path(os.environ.get("TMPDIR", "/tmp")))
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
    try:
        await migrate.upgrade(engine)
        started = time.perf_counter()
        shops = await seed_shops(engine, settings, orders)
        seeded_s = time.perf_counter() - started
        layer = SemanticLayer(engine=engine, clock=CLOCK)
        indexes = {name: await layer.index(tenant) for name, tenant in shops.items()}
        compile_times(layer, shops, indexes, 3)  # warm-up
        per_case = compile_times(layer, shops, indexes, 40 if quick else 200)
        compiling = [t for times in per_case.values() for t in times]
        fastest = [min(times) for times in per_case.values()]
        figures, different = await execution(layer, executor, shops, rounds)
    finally:
        await executor.close()
        await engine.dispose()
        await drop_database(server, url)
    ratios = [f["ratio"] for f in figures.values()]
    summary = {
        "benchmark": "semantic",
        "quick": quick,
        "orders": orders,
        "cases": len(CASES),
        "rounds": rounds,
        "seed_s": round(seeded_s, 1),
        "compile_p50_ms": round(statistics.median(compiling), 3),
        "compile_p95_ms": round(percentile(compiling, 0.95), 3),
        # each case's fastest compile, median over cases: the figure without other processes'
        # interference on a shared machine
        "compile_best_p50_ms": round(statistics.median(fastest), 3),
        "execution_ratio_median": round(statistics.median(ratios), 3),
        "execution_ratio_p95": round(percentile(ratios, 0.95), 3),
        "execution_ratio_max": max(ratios),
        "compiled_ms_median": round(
            statistics.median(f["compiled_ms"] for f in figures.values()), 3
        ),
        "hand_ms_median": round(statistics.median(f["hand_ms"] for f in figures.values()), 3),
        "results_differ": different,
        "goal_compile_met": statistics.median(compiling) <= 1.0,
        "goal_ratio_met": statistics.median(ratios) <= 1.2,
        "load_average": os.getloadavg()[0],
        "per_case": figures,
    }
    print(f"semantic layer, {len(CASES)} cases on shops of {orders:,} and {orders // 4:,} orders")
    print(
        f"compile (plan + SQL text): p50 {summary['compile_p50_ms']} ms, p95 "
        f"{summary['compile_p95_ms']} ms (goal p50 <= 1 ms: "
        f"{'met' if summary['goal_compile_met'] else 'not met'}); each case's fastest run, "
        f"median {summary['compile_best_p50_ms']} ms; load average {summary['load_average']:.1f}"
    )
    print(
        f"execution compiled / hand-written: median {summary['execution_ratio_median']}, p95 "
        f"{summary['execution_ratio_p95']}, max {summary['execution_ratio_max']} (goal median "
        f"<= 1.2: {'met' if summary['goal_ratio_met'] else 'not met'}); medians "
        f"{summary['compiled_ms_median']} vs {summary['hand_ms_median']} ms"
    )
    slowest = sorted(figures.items(), key=lambda item: -item[1]["ratio"])[:5]
    for name, figure in slowest:
        print(f"  {name}: {figure['compiled_ms']} vs {figure['hand_ms']} ms ({figure['ratio']}x)")
    print(f"results equal on every case: {not different}{'' if not different else f' {different}'}")
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller shops, fewer rounds")
    asyncio.run(main(parser.parse_args().quick))
