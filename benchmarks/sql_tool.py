"""Overhead of the SQL tool: run_sql vs a raw asyncpg fetch vs LangChain's QuerySQLDatabaseTool.

    python benchmarks/sql_tool.py            # 20,000-order demo shop, 50 runs per query
    python benchmarks/sql_tool.py --quick    # 5,000 orders, 15 runs per query

All of them run the same queries on the same seeded tenant, in one process, taking turns
within every round, and all log in as the tenant's reader role with the reader's session
settings (row-level security, work_mem, no JIT ...), so the database does the same work
for each and the differences are the tools' own:
- raw: ``fetch`` on an asyncpg connection (no guard, no caps);
- run_sql: ``SqlExecutor.run`` (guard, wrapped query in a read-only, time-limited
  transaction, row and byte caps, JSON-safe values, audit record), on SQL the guard has
  seen (its result is cached) and on SQL it has not seen (its cache emptied first);
- run_sql tool: the agent's own LangChain tool for ``run_sql`` (``app.agent.tools`` over the
  registry's record), returning the JSON text a model reads, seen and unseen SQL;
- LangChain: ``QuerySQLDatabaseTool`` over ``SQLDatabase`` (SQLAlchemy + psycopg2; it guards
  nothing and returns a string).
Prints medians per query, wall clock and this process's CPU time (the machine may be busy
with other work: CPU time is what the client itself spends), the median overhead of run_sql
over raw in both regimes, how long LangChain's tool takes relative to ours, and one JSON line.
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

from langchain.tools import ToolRuntime
from scratch import create_database, drop_database, scratch_server

from app.agent.context import AgentTurn
from app.agent.tools import langchain_tool as agent_tool
from app.config import Settings, load_settings
from app.sqlguard import _cached_check
from app.tools import run_sql as run_sql_tool
from app.tools.sql import SqlExecutor
from app.tools.tool import ToolContext, ToolServices
from db import migrate
from db.engine import create_engine
from db.reader import ReaderLogin, connect_reader, reader_login, reader_url
from db.roles import reader_session_settings
from db.seed import seed_tenant
from db.tenants import get_tenant

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


async def timed(call) -> tuple[float, float]:
    """Wall-clock ms and this process's CPU ms of one call."""
    started, started_cpu = time.perf_counter(), time.process_time()
    result = call()
    if asyncio.iscoroutine(result):
        await result
    return (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000


async def interleaved(calls: dict[str, object], runs: int) -> dict[str, float]:
    """Median ms of each call, wall clock (``<name>_ms``) and this process's CPU time
    (``<name>_cpu_ms``: what the client spends, whatever else the machine runs); the calls
    take turns within every run, so drift on the server (caches, the other core) affects
    them all alike."""
    for call in calls.values():  # warm: prepared statements, pools, type codecs
        await timed(call)
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, call in calls.items():
            wall, cpu = await timed(call)
            samples.setdefault(f"{name}_ms", []).append(wall)
            samples.setdefault(f"{name}_cpu_ms", []).append(cpu)
    return {name: statistics.median(values) for name, values in samples.items()}


def langchain_tool(settings: Settings, url: str, login: ReaderLogin):
    """LangChain's tool, logged in like our reader: same role, same session settings."""
    from langchain_community.tools.sql_database.tool import QuerySQLDatabaseTool
    from langchain_community.utilities import SQLDatabase

    reader = reader_url(settings, owner_url=url, login=login)
    options = " ".join(
        f"-c {name}={value.replace(' ', '')}"
        for name, value in reader_session_settings(settings).items()
    )
    database = SQLDatabase.from_uri(
        reader.replace("postgresql://", "postgresql+psycopg2://", 1),
        engine_args={"connect_args": {"options": options}},
    )
    return QuerySQLDatabaseTool(db=database)


def tool_runtime(context: ToolContext) -> ToolRuntime:
    """What the agent hands its tools, for calling the agent's ``run_sql`` outside a graph."""
    turn = AgentTurn(system_prompt="", matches=[], max_tool_errors=3, tools=context)
    return ToolRuntime(
        state={},
        context=turn,
        config={},
        stream_writer=lambda _: None,
        tool_call_id=None,
        store=None,
    )


def unseen(call):
    """As for SQL the guard has never seen: its cache is emptied first."""

    def run():
        _cached_check.cache_clear()
        return call()

    return run


async def measure(url: str, tenant_id: uuid.UUID, runs: int) -> dict[str, dict[str, float]]:
    settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    engine = create_engine(url)
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
    run_sql = agent_tool(run_sql_tool.TOOL)
    async with engine.connect() as connection:
        login = await reader_login(connection, tenant_id)
        tenant = await get_tenant(connection, "bench")
    runtime = tool_runtime(ToolContext(tenant, None, ToolServices(executor, None), purpose="bench"))  # type: ignore[arg-type]
    raw = await connect_reader(settings, owner_url=url, login=login)
    langchain = langchain_tool(settings, url, login)
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, sql in QUERIES.items():
            ours = lambda sql=sql: executor.run(tenant_id=tenant_id, sql=sql, context="bench")  # noqa: E731
            tool = lambda sql=sql: run_sql.ainvoke({"sql": sql, "runtime": runtime})  # noqa: E731
            figures[name] = await interleaved(
                {
                    "raw": lambda sql=sql: raw.fetch(sql),
                    "run_sql": ours,
                    "run_sql_new_sql": unseen(ours),
                    "tool": tool,
                    "tool_new_sql": unseen(tool),
                    "langchain": lambda sql=sql: langchain.invoke(sql),
                },
                runs,
            )
    finally:
        await raw.close()
        await executor.close()
        await engine.dispose()
    return figures


def median_over_queries(figures: dict[str, dict[str, float]], value) -> float:
    return statistics.median(value(f) for f in figures.values())


def summarise(figures: dict[str, dict[str, float]], orders: int, runs: int) -> dict[str, object]:
    def regime(ours: str, tool: str, unit: str = "_ms") -> dict[str, float]:
        ours, tool, raw, langchain = ours + unit, tool + unit, "raw" + unit, "langchain" + unit
        return {
            "overhead_ms": round(median_over_queries(figures, lambda f: f[ours] - f[raw]), 3),
            "max_overhead_ms": round(max(f[ours] - f[raw] for f in figures.values()), 3),
            "langchain_over_run_sql": round(
                median_over_queries(figures, lambda f: f[langchain] / f[ours]), 2
            ),
            "langchain_over_tool": round(
                median_over_queries(figures, lambda f: f[langchain] / f[tool]), 2
            ),
        }

    repeated, new = regime("run_sql", "tool"), regime("run_sql_new_sql", "tool_new_sql")
    cpu_repeated = regime("run_sql", "tool", "_cpu_ms")
    cpu_new = regime("run_sql_new_sql", "tool_new_sql", "_cpu_ms")
    goal_met = all(
        r["overhead_ms"] <= 2 and r["langchain_over_run_sql"] > 1 for r in (repeated, new)
    )
    return {
        "orders": orders,
        "runs_per_query": runs,
        "goal_met": goal_met,  # overhead <= 2 ms and LangChain slower, in both regimes (wall)
        "median_overhead_ms": repeated["overhead_ms"],
        "max_overhead_ms": repeated["max_overhead_ms"],
        "median_langchain_over_run_sql": repeated["langchain_over_run_sql"],
        "median_langchain_over_tool": repeated["langchain_over_tool"],
        "median_overhead_new_sql_ms": new["overhead_ms"],
        "max_overhead_new_sql_ms": new["max_overhead_ms"],
        "median_langchain_over_run_sql_new_sql": new["langchain_over_run_sql"],
        "median_langchain_over_tool_new_sql": new["langchain_over_tool"],
        "cpu": {"repeated_sql": cpu_repeated, "new_sql": cpu_new},  # client CPU time
        "queries": {k: {m: round(v, 3) for m, v in f.items()} for k, f in figures.items()},
    }


def report(figures: dict[str, dict[str, float]], summary: dict[str, object]) -> None:
    names = ["raw", "run_sql", "run_sql_new_sql", "tool", "tool_new_sql", "langchain"]
    titles = ["raw", "run_sql", "run_sql new", "tool", "tool new", "LangChain"]
    for unit, label in (("_ms", "median ms"), ("_cpu_ms", "client CPU ms")):
        print(f"{label:<18}" + "".join(f"{title:>12}" for title in titles))
        for query, f in figures.items():
            print(f"{query:<18}" + "".join(f"{f[name + unit]:>12.2f}" for name in names))
    cpu = summary["cpu"]
    assert isinstance(cpu, dict)
    for label, suffix, key in (
        ("repeated SQL", "", "repeated_sql"),
        ("SQL the guard has not seen", "_new_sql", "new_sql"),
    ):
        print(
            f"{label}: run_sql adds {summary['median_overhead' + suffix + '_ms']} ms over raw "
            f"asyncpg (median over queries; goal <= 2 ms; client CPU: "
            f"{cpu[key]['overhead_ms']} ms); LangChain's tool takes "
            f"{summary['median_langchain_over_run_sql' + suffix]}x as long as run_sql "
            f"(CPU {cpu[key]['langchain_over_run_sql']}x), "
            f"{summary['median_langchain_over_tool' + suffix]}x as long as the run_sql tool "
            f"(CPU {cpu[key]['langchain_over_tool']}x)"
        )
    print("goal met in both regimes" if summary["goal_met"] else "goal NOT met")
    print(json.dumps(summary))


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
    report(figures, summarise(figures, orders, runs))


if __name__ == "__main__":
    main()
