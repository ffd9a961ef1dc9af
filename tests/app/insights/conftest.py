"""Planted shops for the insights (tests/planted.py), a clock on the Monday after their last
day, the semantic layer and the SQL tool's executor.

- ``region_drop``: last week (16-22 Nov 2026), most orders shipped to one mid-sized region were
  cancelled; and on ``SPIKE_DAY`` orders were placed four times over (an anomaly);
- ``channel_mix``: a channel with 10-30% of the orders sells at twice the basket the week
  before last, and last week it got three times that week's orders, same baskets, instead of
  its own (AOV rose by mix: that channel's own AOV is the same in both weeks);
- ``plain``: the generator's shop as it comes (no anomaly planted).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import pytest_asyncio

from app.insights.source import MetricSource
from app.semantic.periods import FrozenClock
from app.semantic.service import SemanticLayer
from db.tenants import TenantRecord
from tests.planted import (
    cancel,
    change_orders,
    copy_orders,
    order_dicts,
    placed_on,
    planted_shop,
    shop_zone,
)

END = date(2026, 11, 22)  # a Sunday
LAST_WEEK = (date(2026, 11, 16), END)
SPIKE_DAY = date(2026, 11, 4)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK = FrozenClock(NOW)
ORDERS = 40_000
PAID = ("paid", "shipped", "delivered")


def last_week(order: dict, zone) -> bool:
    return LAST_WEEK[0] <= placed_on(order, zone) <= LAST_WEEK[1]


def mid_sized_region(orders: list[dict], zone) -> str:
    """A region with 12-35% of last week's revenue (not the biggest: a test of ranking)."""
    revenue: Counter[str] = Counter()
    for order in orders:
        if last_week(order, zone) and order["status"] in PAID:
            revenue[order["shipping_region"]] += float(Decimal(order["total_amount"]))
    total = sum(revenue.values())
    for region, amount in revenue.most_common():
        if 0.12 <= amount / total <= 0.35:
            return region
    raise AssertionError("no mid-sized region")


def week_before(order: dict, zone) -> bool:
    return 0 < (LAST_WEEK[0] - placed_on(order, zone)).days <= 7


def minor_channel(orders: list[dict], zone) -> str:
    """The smallest channel with 10%+ of the orders the week before last week."""
    counts = Counter(o["channel"] for o in orders if week_before(o, zone) and o["status"] in PAID)
    total = sum(counts.values())
    return min((c for c in counts if counts[c] >= 0.1 * total), key=counts.__getitem__)


def doubled(order: dict) -> None:
    """Twice the goods (the total still adds up: subtotal - discount + shipping + tax)."""
    goods = Decimal(order["subtotal"])
    order["subtotal"] = str(2 * goods)
    order["total_amount"] = str(Decimal(order["total_amount"]) + goods)


@dataclass
class Planted:
    tenant: TenantRecord
    cause: str  # the region or channel planted


@dataclass
class Shops:
    region_drop: Planted
    channel_mix: Planted
    plain: TenantRecord


@pytest_asyncio.fixture(scope="module")
async def shops(engine, settings) -> Shops:
    chosen: dict[str, str] = {}

    def drop_region(shop) -> None:
        zone = shop_zone(shop)
        region = chosen["region"] = mid_sized_region(order_dicts(shop), zone)
        cancel(
            shop, lambda o: last_week(o, zone) and o["shipping_region"] == region and o["id"] % 10
        )
        copy_orders(shop, lambda o: placed_on(o, zone) == SPIKE_DAY, copies=3)

    def mix_channel(shop) -> None:
        zone = shop_zone(shop)
        channel = chosen["channel"] = minor_channel(order_dicts(shop), zone)
        change_orders(shop, lambda o: week_before(o, zone) and o["channel"] == channel, doubled)
        cancel(shop, lambda o: last_week(o, zone) and o["channel"] == channel)
        copy_orders(shop, lambda o: week_before(o, zone) and o["channel"] == channel, 3, days=7)

    common = {"orders": ORDERS, "end": END}
    dropped = await planted_shop(
        engine, settings, slug="ins-region", seed=11, plant=drop_region, **common
    )
    mixed = await planted_shop(
        engine, settings, slug="ins-mix", seed=12, plant=mix_channel, **common
    )
    plain = await planted_shop(engine, settings, slug="ins-plain", seed=13, **common)
    return Shops(Planted(dropped, chosen["region"]), Planted(mixed, chosen["channel"]), plain)


@pytest.fixture(scope="module")
def executor(module_executor):
    return module_executor


@pytest_asyncio.fixture(scope="module")
async def layer(engine) -> SemanticLayer:
    return SemanticLayer(engine=engine, clock=CLOCK)


@pytest_asyncio.fixture
async def source_for(layer, executor):
    def make(tenant: TenantRecord) -> MetricSource:
        return MetricSource(layer, executor, tenant, context="test")

    return make
