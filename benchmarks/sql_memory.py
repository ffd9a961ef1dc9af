"""Client memory of the SQL tool on large results: run_sql against a raw asyncpg fetch.

    python benchmarks/sql_memory.py            # the red team's 20 rows of 50 MB, and more
    python benchmarks/sql_memory.py --quick    # 20 rows of 10 MB instead

Each measurement runs in a fresh Python process (peak RSS only grows), logged in as a
tenant's reader role, on the same query:
- raw: ``fetch`` on an asyncpg connection (everything the query returns is fetched);
- run_sql: ``SqlExecutor.run`` with the guard bypassed (so the query reaches the server
  even when the guard would refuse it: this measures the executor's own caps: a cursor read
  in chunks, stopped at max_rows and max_result_bytes, and the server's refusal to send a
  row larger than max_result_bytes);
- run_sql + guard: the same, as the agent runs it.
Prints, per query, the process's resident memory before the query and its peak during it
(MB, from getrusage), the rows returned, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from scratch import create_database, drop_database, scratch_server

QUERIES = {
    "red team: 20 rows of 50 MB": "SELECT repeat('x', 50000000) AS blob FROM generate_series(1, 20)",
    "500 rows of 900 KB": "SELECT repeat('x', 900000) AS blob FROM generate_series(1, 500)",
    "one 200 MB aggregate": "SELECT string_agg(repeat('x', 1000), '') AS blob "
    "FROM generate_series(1, 200000)",
    "10,000 small rows": "SELECT n, md5(n::text) AS hash FROM generate_series(1, 10000) AS n",
}
QUICK = {"20 rows of 10 MB": QUERIES["red team: 20 rows of 50 MB"].replace("50000000", "10000000")}
MODES = ("raw", "run_sql", "run_sql_guarded")


def rss_mb() -> float:
    """Current resident memory (Linux: /proc/self/statm pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


async def prepare(server: str) -> tuple[str, uuid.UUID]:
    from app.config import load_settings
    from db import migrate
    from db.engine import create_engine
    from db.tenants import create_tenant

    url = await create_database(server)
    engine = create_engine(url)
    await migrate.upgrade(engine)
    settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    async with engine.begin() as connection:
        tenant = await create_tenant(connection, slug="memory", name="Memory", settings=settings)
    await engine.dispose()
    return url, tenant.id


async def measure(mode: str, url: str, tenant_id: uuid.UUID, sql: str) -> dict[str, object]:
    """Runs in its own process: one query in one mode."""
    from app.config import load_settings
    from app.errors import BichatError
    from app.tools.sql import SqlExecutor
    from db.engine import create_engine
    from db.reader import connect_reader, reader_login

    settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
    engine = create_engine(url)
    executor = SqlExecutor(
        engine=engine, settings=settings, owner_url=url, guard=mode == "run_sql_guarded"
    )
    async with engine.connect() as connection:
        login = await reader_login(connection, tenant_id)
    raw = await connect_reader(settings, owner_url=url, login=login)
    await executor.run(tenant_id=tenant_id, sql="SELECT 1 AS warm")  # pools, codecs, imports
    await raw.fetch("SELECT 1")
    before = rss_mb()
    outcome: str
    try:
        if mode == "raw":
            outcome = f"{len(await raw.fetch(sql))} rows"
        else:
            result = await executor.run(tenant_id=tenant_id, sql=sql)
            outcome = f"{result.row_count} rows, truncated by {result.truncated_by}"
    except BichatError as error:
        outcome = f"refused: {error.code}"
    peak = peak_rss_mb()
    await raw.close()
    await executor.close()
    await engine.dispose()
    return {"before_mb": round(before, 1), "peak_mb": round(peak, 1), "outcome": outcome}


def run_in_process(mode: str, url: str, tenant_id: uuid.UUID, sql: str) -> dict[str, object]:
    command = [sys.executable, __file__, "--measure", mode, url, str(tenant_id), sql]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rows of 10 MB only")
    parser.add_argument("--measure", nargs=4, metavar=("MODE", "URL", "TENANT", "SQL"))
    args = parser.parse_args()
    logging.getLogger("bichat.audit").setLevel(logging.WARNING)
    if args.measure:
        mode, url, tenant, sql = args.measure
        print(json.dumps(asyncio.run(measure(mode, url, uuid.UUID(tenant), sql))))
        return
    server = scratch_server()
    url, tenant_id = asyncio.run(prepare(server))
    figures: dict[str, dict[str, dict[str, object]]] = {}
    try:
        for name, sql in (QUICK if args.quick else QUERIES).items():
            figures[name] = {mode: run_in_process(mode, url, tenant_id, sql) for mode in MODES}
    finally:
        asyncio.run(drop_database(server, url))
    report(figures)


def report(figures: dict[str, dict[str, dict[str, object]]]) -> None:
    print(f"{'query':<28}{'mode':<17}{'RSS before':>11}{'peak':>9}  outcome")
    for name, modes in figures.items():
        for mode, figure in modes.items():
            print(
                f"{name:<28}{mode:<17}{figure['before_mb']:>9} MB{figure['peak_mb']:>6} MB"
                f"  {figure['outcome']}"
            )
    summary = {
        name: {
            mode: round(float(str(f["peak_mb"])) - float(str(f["before_mb"])), 1)
            for mode, f in modes.items()
        }
        for name, modes in figures.items()
    }
    print("peak minus before, MB:", json.dumps(summary))
    print(json.dumps({"peak_over_before_mb": summary, "figures": figures}))


if __name__ == "__main__":
    main()
