"""Seeding speed: generation, then COPY of every table (rows per second), in a fresh database.

    python benchmarks/seed.py            # ~1,000,000 order items (the issue's goal: <= 60 s to load)
    python benchmarks/seed.py --quick    # ~60,000 order items, about a minute in all

Prints a human summary and one JSON line. Uses the embedded server in a temporary directory,
or BICHAT_DATABASE_URL's server (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from scratch import migrated_scratch, scratch_server

from app.config import load_settings
from db.bulk import NUMBERED_TABLES, analyze, copy_rows, lock_for_loading, mapped_rows, reserve_ids
from db.demo.generator import generate_shop
from db.rules import compute_rules
from db.seed import LOAD_ORDER
from db.tenants import create_tenant

ITEMS_PER_ORDER = 1.7  # measured average basket size of the generator


async def run(orders: int, server: str) -> dict[str, object]:
    t0 = time.perf_counter()
    shop = generate_shop(seed=7, orders=orders, end=date(2026, 11, 22))
    generation_s = time.perf_counter() - t0
    figures: dict[str, object] = {"orders": orders, "generation_s": round(generation_s, 2)}
    async with migrated_scratch(server) as (url, engine):
        settings = load_settings(database_url=url, data_dir=Path(tempfile.gettempdir()))
        async with engine.begin() as connection:
            tenant = await create_tenant(connection, slug="bench", name="Bench", settings=settings)
            await lock_for_loading(connection, LOAD_ORDER)
            offsets = {
                t: await reserve_ids(connection, t, len(shop.tables[t].rows))
                for t in NUMBERED_TABLES
            }
            load_total = 0.0
            for name in LOAD_ORDER:
                table = shop.tables[name]
                t1 = time.perf_counter()
                rows = mapped_rows(
                    name, table.columns, table.rows, tenant_id=tenant.id, offsets=offsets
                )
                await copy_rows(connection, name, table.columns, rows)
                elapsed = time.perf_counter() - t1
                load_total += elapsed
                figures[f"{name}_rows"] = len(rows)
                figures[f"{name}_rows_per_s"] = round(len(rows) / elapsed)
                figures[f"{name}_load_s"] = round(elapsed, 2)
            t2 = time.perf_counter()
            await analyze(connection, LOAD_ORDER)
            figures["analyze_s"] = round(time.perf_counter() - t2, 2)
            t3 = time.perf_counter()
            figures["bundle_rules"] = await compute_rules(connection, tenant_id=tenant.id)
            figures["rules_s"] = round(time.perf_counter() - t3, 2)
            figures["load_all_tables_s"] = round(load_total, 2)
        figures["total_s"] = round(time.perf_counter() - t0, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~60k order items")
    parser.add_argument("--orders", type=int, help="override the number of orders")
    args = parser.parse_args()
    items = 60_000 if args.quick else 1_000_000
    orders = args.orders or int(items / ITEMS_PER_ORDER)
    server = scratch_server()
    figures = asyncio.run(run(orders, server))
    print(
        f"generated {orders} orders in {figures['generation_s']} s; loaded "
        f"{figures['order_items_rows']} order items in {figures['order_items_load_s']} s "
        f"({figures['order_items_rows_per_s']} rows/s); all tables loaded in "
        f"{figures['load_all_tables_s']} s; analyze {figures['analyze_s']} s, "
        f"rules {figures['rules_s']} s; total {figures['total_s']} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
