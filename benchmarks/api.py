"""What the REST API and the MCP server add to a semantic query: ``POST /api/v1/query`` and the
MCP tool ``query_metrics`` (streamable HTTP, the SDK's own client) against calling the
semantic layer's compiler and the SQL executor directly, the same queries in the same run.

    python benchmarks/api.py            # a shop of 20,000 orders, 200 rounds
    python benchmarks/api.py --quick    # 3,000 orders, 40 rounds

On a scratch database (BICHAT_DATABASE_URL's server, or an embedded one) it seeds a shop,
makes a user and a personal API token, and starts bichat's web app in a subprocess (uvicorn,
one worker; its rate limit raised out of the way). Each round runs four semantic queries
three ways, taking turns so that drift on the machine hits all alike: directly
(``SemanticLayer.run`` with a ``SqlExecutor`` in this process: plan, compile, guard, run),
over REST (an HTTP keep-alive client) and over MCP (one initialised session). Both remote
ways do that same work in the server plus: the token read again from the database, the rate
limit, JSON both ways, and for MCP the JSON-RPC envelope and its SSE answer. Prints medians
and p95 per way, the overheads (remote median minus direct median) and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from scratch import create_database, drop_database, scratch_server

from app.config import load_settings
from app.semantic.query import SemanticQuery
from app.semantic.service import SemanticLayer
from app.store.tokens import create_token
from app.tools.sql import SqlExecutor
from db import migrate
from db.engine import create_engine
from db.seed import seed_tenant
from db.tenants import get_tenant
from db.users import create_user, user_id_for

ROOT = Path(__file__).resolve().parents[1]
QUERIES: list[dict[str, Any]] = [
    {"metrics": ["revenue"], "by": ["channel"], "period": "last-12-months"},
    {"metrics": ["orders", "average_order_value"], "grain": "month", "period": "this-year"},
    {"metrics": ["units"], "by": ["product"], "period": "all", "top": 10},
    {"metrics": ["revenue"], "by": ["category"], "period": "last-quarter", "compare": "previous"},
]
SERVER = (
    "import uvicorn\n"
    "from app.config import load_settings\n"
    "from app.web.server import create_app\n"
    "uvicorn.run(create_app(load_settings()), host='127.0.0.1', port={port}, "
    "log_level='warning')\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BICHAT_")},
        "PYTHONPATH": str(ROOT),
        "BICHAT_DATABASE_URL": url,
        "BICHAT_DATA_DIR": data_dir,
        "BICHAT_MODEL": "offline",
        "BICHAT_API_RATE_LIMIT": "1000000/minute",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(port=port)], env=env, cwd=data_dir
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the web server did not start")


async def prepare(url: str, settings: Any, orders: int) -> tuple[Any, str]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        await seed_tenant(
            engine, settings, slug="bench", seed=7, orders=orders, end=date(2026, 11, 22)
        )
        async with engine.begin() as connection:
            await create_user(
                connection,
                username="bench",
                tenant_slug="bench",
                password="bench-password",
                admin=False,
            )
            tenant = await get_tenant(connection, "bench")
            user_id = await user_id_for(connection, username="bench", tenant_id=tenant.id)
        _, token = await create_token(engine, tenant_id=tenant.id, user_id=user_id, name="bench")
        return tenant, token
    finally:
        await engine.dispose()


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


async def measure(
    url: str, settings: Any, tenant: Any, token: str, base: str, rounds: int
) -> dict[str, list[float]]:
    engine = create_engine(url)
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
    layer = SemanticLayer(engine=engine)
    times: dict[str, list[float]] = {"direct": [], "rest": [], "mcp": []}
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            httpx.AsyncClient(base_url=f"{base}/api/v1", headers=headers, timeout=60) as rest,
            httpx.AsyncClient(headers=headers, timeout=60) as mcp_http,
            streamable_http_client(f"{base}/mcp", http_client=mcp_http) as (read, write, _),
            ClientSession(read, write) as mcp,
        ):
            await mcp.initialize()

            async def direct(query: dict[str, Any]) -> None:
                await layer.run(tenant, SemanticQuery.parse(query), executor, context="bench")

            async def over_rest(query: dict[str, Any]) -> None:
                response = await rest.post("/query", json=query)
                assert response.status_code == 200, response.text

            async def over_mcp(query: dict[str, Any]) -> None:
                result = await mcp.call_tool("query_metrics", query)
                assert not result.isError, result.content

            ways = {"direct": direct, "rest": over_rest, "mcp": over_mcp}
            for query in QUERIES:  # warm-up: pools, values index, guard cache on both sides
                for way in ways.values():
                    await way(query)
            for round_ in range(rounds):
                order = list(ways.items())
                order = order[round_ % 3 :] + order[: round_ % 3]
                for query in QUERIES:
                    for name, way in order:
                        started = time.perf_counter()
                        await way(query)
                        times[name].append((time.perf_counter() - started) * 1000)
    finally:
        await executor.close()
        await engine.dispose()
    return times


async def main(quick: bool) -> None:
    orders, rounds = (3000, 40) if quick else (20_000, 200)
    server = scratch_server()
    url = await create_database(server)
    data_dir = tempfile.mkdtemp(prefix="bichat-bench-api-")
    settings = load_settings(database_url=url, data_dir=Path(data_dir))
    process = None
    try:
        tenant, token = await prepare(url, settings, orders)
        process, base = start_server(url, data_dir)
        times = await measure(url, settings, tenant, token, base, rounds)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        await drop_database(server, url)
    figures = {way: summary(values) for way, values in times.items()}
    direct = figures["direct"]["median_ms"]
    report = {
        "benchmark": "api",
        "orders": orders,
        "calls_per_way": len(times["direct"]),
        **{f"{way}_{key}": value for way, stats in figures.items() for key, value in stats.items()},
        "rest_overhead_ms": round(figures["rest"]["median_ms"] - direct, 2),
        "mcp_overhead_ms": round(figures["mcp"]["median_ms"] - direct, 2),
        "rest_ratio": round(figures["rest"]["median_ms"] / direct, 2),
        "mcp_ratio": round(figures["mcp"]["median_ms"] / direct, 2),
    }
    print(f"{len(times['direct'])} calls per way, {len(QUERIES)} semantic queries, {orders} orders")
    for way, stats in figures.items():
        print(f"  {way:>6}: median {stats['median_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms")
    print(
        f"overhead over direct (medians): REST +{report['rest_overhead_ms']} ms "
        f"({report['rest_ratio']}x), MCP +{report['mcp_overhead_ms']} ms ({report['mcp_ratio']}x)"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small shop and fewer rounds")
    asyncio.run(main(parser.parse_args().quick))
