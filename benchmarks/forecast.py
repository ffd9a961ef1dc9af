"""Insights: forecast accuracy (backtest against a seasonal-naive baseline) and explain latency.

    python benchmarks/forecast.py            # demo shop of 20,000 orders; 1M-item shop
    python benchmarks/forecast.py --quick    # 5,000 orders; a 50,000-item shop

On a scratch database (BICHAT_DATABASE_URL's server, or an embedded one):
- backtest: the demo shop (db/seed.py's generator, ending 2026-11-22); its daily revenue
  through the semantic layer and the SQL tool; at several cut-off dates (every four weeks
  back from the end) the forecast model (app/insights/forecast.py, fitted on the days up to
  the cut-off) and the seasonal-naive baseline (each day = the same weekday of the last week
  before the cut-off) forecast the next 28 days; MAPE over the days (and over the four weekly
  totals) for both, in the same run; goal: the model's MAPE lower than the baseline's;
- explain latency: a shop of about 1M order items (the same generator, more orders);
  ``explain(revenue, last-month, previous)`` and ``explain(average_order_value, ...)``
  (every dimension each allows, through the SQL tool), median and p95 over rounds.
Prints a summary and one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import json

import numpy as np
from scratch import create_database, drop_database, scratch_server

from app.config import load_settings
from app.insights.explain import explain
from app.insights.forecast import fit_and_forecast
from app.insights.source import MetricSource
from app.semantic.periods import FrozenClock
from app.semantic.service import SemanticLayer
from app.tools.sql import SqlExecutor
from db import migrate
from db.engine import create_engine
from db.seed import seed_tenant
from db.tenants import TenantRecord, get_tenant

END = date(2026, 11, 22)
CLOCK = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
HORIZON = 28
ITEMS_PER_ORDER = 1.88  # the generator's average basket (lines per order)


def mape(actual: np.ndarray[Any, Any], predicted: np.ndarray[Any, Any]) -> float:
    kept = actual > 0
    return float(np.mean(np.abs(actual[kept] - predicted[kept]) / actual[kept]) * 100)


def weekly(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return values[: len(values) // 7 * 7].reshape(-1, 7).sum(axis=1)


async def daily_revenue(source: MetricSource) -> tuple[date, np.ndarray[Any, Any]]:
    first, last = END - timedelta(days=3 * 365), END - timedelta(days=1)  # the 22nd is not whole
    rows = await source.query(
        {"metrics": ["revenue"], "grain": "day", "from_date": first, "to_date": last}
    )
    return first, np.array([float(r["revenue"] or 0.0) for r in rows.rows])


def backtest(series: np.ndarray[Any, Any], cutoffs: int) -> dict[str, Any]:
    model_days, naive_days, model_weeks, naive_weeks, seconds = [], [], [], [], []
    for k in range(cutoffs):
        cut = len(series) - HORIZON - 28 * k
        history, actual = series[:cut], series[cut : cut + HORIZON]
        start = next(i for i, v in enumerate(history) if v)
        started = time.perf_counter()
        predicted, _, _, _ = fit_and_forecast(history[start:], "day", HORIZON)
        seconds.append(time.perf_counter() - started)
        naive = np.tile(history[-7:], HORIZON // 7)
        model_days.append(mape(actual, predicted))
        naive_days.append(mape(actual, naive))
        model_weeks.append(mape(weekly(actual), weekly(predicted)))
        naive_weeks.append(mape(weekly(actual), weekly(naive)))
    return {
        "cutoffs": cutoffs,
        "horizon_days": HORIZON,
        "mape_daily_model": round(statistics.mean(model_days), 1),
        "mape_daily_seasonal_naive": round(statistics.mean(naive_days), 1),
        "mape_weekly_model": round(statistics.mean(model_weeks), 1),
        "mape_weekly_seasonal_naive": round(statistics.mean(naive_weeks), 1),
        "fit_s_median": round(statistics.median(seconds), 2),
    }


async def explain_latency(
    layer: SemanticLayer, executor: SqlExecutor, tenant: TenantRecord, rounds: int
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for metric in ("revenue", "average_order_value"):
        times = []
        for _ in range(rounds):
            source = MetricSource(layer, executor, tenant, context="benchmark")
            started = time.perf_counter()
            found = await explain(source, metric, "last-month", "previous")
            times.append((time.perf_counter() - started) * 1000)
        ordered = sorted(times)
        figures[metric] = {
            "median_ms": round(statistics.median(times)),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]),
            "queries": len(found.sql),
        }
    return figures


async def seeded(engine: Any, settings: Any, slug: str, orders: int, seed: int) -> TenantRecord:
    await seed_tenant(engine, settings, slug=slug, seed=seed, orders=orders, end=END)
    async with engine.connect() as connection:
        return await get_tenant(connection, slug)


async def main(quick: bool) -> None:
    demo_orders, items, cutoffs, rounds = (
        (5_000, 50_000, 3, 2) if quick else (20_000, 1_000_000, 6, 3)
    )
    server = scratch_server()
    url = await create_database(server)
    engine = create_engine(url)
    settings = load_settings(database_url=url, data_dir=Path(os.environ.get("TMPDIR", "/tmp")))
    try:
        await migrate.upgrade(engine)
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=url)
        layer = SemanticLayer(engine=engine, clock=CLOCK)
        demo = await seeded(engine, settings, "bench-demo", demo_orders, 7)
        _, series = await daily_revenue(MetricSource(layer, executor, demo, context="benchmark"))
        accuracy = backtest(series, cutoffs)
        started = time.perf_counter()
        big = await seeded(engine, settings, "bench-big", round(items / ITEMS_PER_ORDER), 8)
        seed_s = time.perf_counter() - started
        async with engine.connect() as connection:
            from sqlalchemy import text

            item_count = await connection.scalar(
                text("SELECT count(*) FROM order_items WHERE tenant_id = :t"), {"t": big.id}
            )
        latency = await explain_latency(layer, executor, big, rounds)
        await executor.close()
    finally:
        await engine.dispose()
        await drop_database(server, url)
    figures = {
        "benchmark": "forecast",
        "quick": quick,
        "demo_orders": demo_orders,
        **accuracy,
        "big_shop_items": item_count,
        "big_shop_seed_s": round(seed_s, 1),
        "explain": latency,
    }
    print(
        f"backtest on the demo shop ({demo_orders:,} orders), {cutoffs} cut-offs, 28-day horizon:\n"
        f"  daily MAPE   model {accuracy['mape_daily_model']}%  vs seasonal naive "
        f"{accuracy['mape_daily_seasonal_naive']}%\n"
        f"  weekly MAPE  model {accuracy['mape_weekly_model']}%  vs seasonal naive "
        f"{accuracy['mape_weekly_seasonal_naive']}%  (fit {accuracy['fit_s_median']} s)\n"
        f"explain on a {item_count:,}-item shop: "
        + ", ".join(
            f"{m} median {v['median_ms']} ms, p95 {v['p95_ms']} ms ({v['queries']} queries)"
            for m, v in latency.items()
        )
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller shops, fewer rounds")
    asyncio.run(main(parser.parse_args().quick))
