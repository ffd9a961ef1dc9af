"""Shops with a planted cause: the demo generator's shop (db/demo: growth, seasons, weekdays,
noise) changed in known ways before it is loaded the way ``bichat db seed`` loads it.

- ``change_orders(shop, chosen, change)``: any change to matching orders (dearer baskets);
- ``cancel(shop, chosen)``: orders matching ``keep`` cancelled (their revenue goes: a region's
  revenue dropped);
- ``copy_orders(shop, chosen, copies, days=)``: matching orders placed again ``copies`` more
  times, ``days`` later, with the same baskets (a channel's orders of one week placed three
  times the next week instead of its own: the same AOV, three times the weight, a mix shift;
  many more orders on one day: a spike).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from db.demo.generator import DemoShop, generate_shop
from db.seed import MARKET_CURRENCY, load_shop, tenant_for_seed
from db.settings import DatabaseSettings
from db.tenants import TenantRecord

OrderRow = dict[str, Any]
Plant = Callable[[DemoShop], None]


def order_dicts(shop: DemoShop) -> list[OrderRow]:
    table = shop.tables["orders"]
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def set_orders(shop: DemoShop, orders: list[OrderRow]) -> None:
    table = shop.tables["orders"]
    table.rows = [tuple(order[c] for c in table.columns) for order in orders]


def change_orders(
    shop: DemoShop, chosen: Callable[[OrderRow], bool], change: Callable[[OrderRow], None]
) -> int:
    """Apply ``change`` to the chosen orders (in place); how many were changed."""
    orders = order_dicts(shop)
    picked = [o for o in orders if chosen(o)]
    for order in picked:
        change(order)
    set_orders(shop, orders)
    return len(picked)


def cancel(shop: DemoShop, chosen: Callable[[OrderRow], bool]) -> int:
    """Cancel the chosen orders; how many were."""
    orders, count = order_dicts(shop), 0
    for order in orders:
        if chosen(order) and order["status"] in ("paid", "shipped", "delivered"):
            order.update(status="cancelled", shipped_at=None, delivered_at=None)
            count += 1
    set_orders(shop, orders)
    return count


def copy_orders(
    shop: DemoShop, chosen: Callable[[OrderRow], bool], copies: int, *, days: int = 0
) -> int:
    """Place each chosen order ``copies`` more times (``days`` later, minutes earlier, same
    basket); how many orders were added."""
    orders = order_dicts(shop)
    items = shop.tables["order_items"]
    basket: dict[int, list[tuple[Any, ...]]] = {}
    for row in items.rows:
        basket.setdefault(row[0], []).append(row)
    next_id = max(o["id"] for o in orders) + 1
    added = []
    for order in orders:
        if not chosen(order):
            continue
        for copy in range(1, copies + 1):
            later = timedelta(days=days)
            new = order | {  # placed a few minutes earlier: shipped and delivered stay after
                "id": next_id,
                "order_number": f"{order['order_number']}-{copy}",
                "placed_at": order["placed_at"] + later - timedelta(minutes=copy),
                "shipped_at": order["shipped_at"] and order["shipped_at"] + later,
                "delivered_at": order["delivered_at"] and order["delivered_at"] + later,
            }
            added.append(new)
            items.rows += [(next_id, *row[1:]) for row in basket.get(order["id"], [])]
            next_id += 1
    set_orders(shop, orders + added)
    return len(added)


def shop_zone(shop: DemoShop) -> ZoneInfo:
    """The time zone ``db seed`` gives the shop (from its customers' country)."""
    country = shop.tables["customers"].rows[0][9]
    return ZoneInfo(MARKET_CURRENCY.get(country, ("EUR", "Europe/Paris"))[1])


def placed_on(order: OrderRow, zone: ZoneInfo) -> date:
    """The shop's day the order was placed on."""
    placed: datetime = order["placed_at"]
    return placed.astimezone(zone).date()


async def planted_shop(
    engine: AsyncEngine,
    settings: DatabaseSettings,
    *,
    slug: str,
    seed: int,
    orders: int,
    end: date,
    plant: Plant | None = None,
) -> TenantRecord:
    """Generate a demo shop, plant its cause and load it (one transaction, as ``db seed``)."""
    shop = generate_shop(seed=seed, orders=orders, end=end, progress=lambda step, n: None)
    if plant is not None:
        plant(shop)
    async with engine.begin() as connection:
        tenant = await tenant_for_seed(connection, slug=slug, shop=shop, settings=settings)
        await load_shop(connection, shop, tenant.id, lambda table, rows, *, total: None)
    return tenant
