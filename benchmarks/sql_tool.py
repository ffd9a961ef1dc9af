"""Overhead of the SQL tool: run_sql vs a raw asyncpg fetch vs LangChain's QuerySQLDatabaseTool.

    python benchmarks/sql_tool.py            # 20,000-order demo shop, 50 runs per query
    python benchmarks/sql_tool.py --quick    # 5,000 orders, 15 runs per query

All three run the same queries on the same seeded tenant, in one process:
- raw: ``fetch`` on an asyncpg connection logged in as the tenant's reader (no guard, no caps);
- run_sql: ``SqlExecutor.run`` (guard, read-only transaction, wrapped query, cursor with row
  and byte caps, JSON-safe values, audit record);
- LangChain: ``QuerySQLDatabaseTool`` over ``SQLDatabase`` (SQLAlchemy + psycopg2, owner
  connection; it guards nothing and returns a string).
Prints medians per query, the median overhead of run_sql over raw, and one JSON line.
Needs langchain-community (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from scratch import create_database, drop_database, scratch_server

from app.config import load_settings
from app.sqlguard import _cached_check
from app.tools.sql import SqlExecutor
from db import migrate
from db.engine import create_engine
from db.reader import connect_reader, reader_login
from db.seed import seed_tenant

QUERIES = {
    "revenue by month": """
        SELECT date_trunc('month', placed_at) AS month, sum(total_amount) AS revenue
        FROM orders WHERE status IN ('paid', 'shipped', 'delivered')
        GROUP BY 1 ORDER BY 1""",
    "top products": """
        SELECT p.name, sum(oi.line_total) AS revenue FROM order_items oi
        JOIN products p ON p.id = oi.product_id GROUP BY p.name ORDER BY revenue DESC LIMIT 10""",
    "orders by region": """
        SELECT c.region, count(*) AS orders FROM orders o JOIN customers c ON c.id = o.customer_id
        GROUP BY c.region ORDER BY orders DESC""",
    "one order": "SELECT * FROM orders WHERE order_number = (SELECT min(order_number) FROM orders)",
    "recent orders": "SELECT order_number, status, total_amount FROM orders ORDER BY placed_at DESC LIMIT 50",
    "average rating": """
        SELECT p.brand, round(avg(r.rating), 2) AS rating, count(*) AS reviews FROM reviews r
        JOIN products p ON p.id = r.product_id GROUP BY p.brand ORDER BY rating DESC""",
    "bundles": """
        SELECT a.name, b.name, r.lift FROM bundle_rules r JOIN products a ON a.id = r.antecedent_product_id
        JOIN products b ON b.id = r.consequent_product_id ORDER BY r.lift DESC LIMIT 10""",
    "count": "SELECT count(*) FROM order_items",
}


async def prepare(server: str, orders: int) -> tuple[str, uuid.UUID]:
    url = await create_database(server)
    engine = create_engine(url)
    await migrate.upgrade(engine)
    settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    await seed_tenant(engine, settings, slug="bench", seed=1, orders=orders, end=date(2026, 11, 22))
    async with engine.connect() as connection:
        from sqlalchemy import text

        tenant_id = (
            await connection.execute(text("SELECT id FROM tenants WHERE slug = 'bench'"))
        ).scalar_one()
    await engine.dispose()
    return url, tenant_id


async def timed(call) -> float:
    started = time.perf_counter()
    result = call()
    if asyncio.iscoroutine(result):
        await result
    return (time.perf_counter() - started) * 1000


async def interleaved(calls: dict[str, object], runs: int) -> dict[str, float]:
    """Median ms of each call; the calls take turns within every run, so drift on the server
    (caches, the other core) affects them all alike."""
    for call in calls.values():  # warm: prepared statements, pools, type codecs
        await timed(call)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            samples[name].append(await timed(call))
    return {name: statistics.median(values) for name, values in samples.items()}


def langchain_tool(url: str):
    from langchain_community.tools.sql_database.tool import QuerySQLDatabaseTool
    from langchain_community.utilities import SQLDatabase

    database = SQLDatabase.from_uri(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    return QuerySQLDatabaseTool(db=database)


async def cold(executor: SqlExecutor, tenant_id: uuid.UUID, sql: str) -> object:
    """As for SQL the guard has never seen: its cache is emptied first."""
    _cached_check.cache_clear()
    return await executor.run(tenant_id=tenant_id, sql=sql, context="bench")


async def measure(url: str, tenant_id: uuid.UUID, runs: int) -> dict[str, dict[str, float]]:
    settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    engine = create_engine(url)
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
    async with engine.connect() as connection:
        login = await reader_login(connection, tenant_id)
    raw = await connect_reader(settings, owner_url=url, login=login)
    tool = langchain_tool(url)
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, sql in QUERIES.items():
            figures[name] = await interleaved(
                {
                    "raw_ms": lambda sql=sql: raw.fetch(sql),
                    "run_sql_ms": lambda sql=sql: executor.run(
                        tenant_id=tenant_id, sql=sql, context="bench"
                    ),
                    "run_sql_new_sql_ms": lambda sql=sql: cold(executor, tenant_id, sql),
                    "langchain_ms": lambda sql=sql: tool.invoke(sql),
                },
                runs,
            )
    finally:
        await raw.close()
        await executor.close()
        await engine.dispose()
    return figures


def summarise(figures: dict[str, dict[str, float]], orders: int, runs: int) -> dict[str, object]:
    overheads = [f["run_sql_ms"] - f["raw_ms"] for f in figures.values()]
    versus_langchain = [f["langchain_ms"] / f["run_sql_ms"] for f in figures.values()]
    new_sql = [f["run_sql_new_sql_ms"] - f["raw_ms"] for f in figures.values()]
    versus_langchain_new = [f["langchain_ms"] / f["run_sql_new_sql_ms"] for f in figures.values()]
    return {
        "median_overhead_new_sql_ms": round(statistics.median(new_sql), 3),
        "median_langchain_over_run_sql_new_sql": round(statistics.median(versus_langchain_new), 2),
        "orders": orders,
        "runs_per_query": runs,
        "median_overhead_ms": round(statistics.median(overheads), 3),
        "max_overhead_ms": round(max(overheads), 3),
        "median_langchain_over_run_sql": round(statistics.median(versus_langchain), 2),
        "queries": {k: {m: round(v, 3) for m, v in f.items()} for k, f in figures.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 orders, 15 runs per query")
    args = parser.parse_args()
    orders, runs = (5_000, 15) if args.quick else (20_000, 50)
    logging.getLogger("bichat.audit").setLevel(logging.WARNING)
    server = scratch_server()
    url, tenant_id = asyncio.run(prepare(server, orders))
    try:
        figures = asyncio.run(measure(url, tenant_id, runs))
    finally:
        asyncio.run(drop_database(server, url))
    summary = summarise(figures, orders, runs)
    print(f"{'query':<20} {'raw ms':>8} {'run_sql ms':>11} {'new SQL ms':>11} {'LangChain ms':>13}")
    for name, f in figures.items():
        print(
            f"{name:<20} {f['raw_ms']:>8.2f} {f['run_sql_ms']:>11.2f} "
            f"{f['run_sql_new_sql_ms']:>11.2f} {f['langchain_ms']:>13.2f}"
        )
    print(
        f"median overhead of run_sql over raw asyncpg: {summary['median_overhead_ms']} ms for "
        f"repeated SQL, {summary['median_overhead_new_sql_ms']} ms for SQL the guard has not "
        f"seen (goal <= 2 ms); LangChain's tool takes {summary['median_langchain_over_run_sql']}x "
        f"/ {summary['median_langchain_over_run_sql_new_sql']}x as long (median over queries)"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
