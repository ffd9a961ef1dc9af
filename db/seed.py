"""``bichat db seed``: generate a demo shop and load it in one transaction with COPY."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.bulk import NUMBERED_TABLES, analyze, copy_rows, lock_for_loading, mapped_rows, reserve_ids
from db.demo.generator import DemoShop, Progress, generate_shop
from db.errors import AlreadyExists, NotFound
from db.models import BUSINESS_TABLES
from db.rules import DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_SUPPORT, compute_rules
from db.settings import DatabaseSettings
from db.tenants import TenantRecord, create_tenant, get_tenant

DEFAULT_ORDERS = 20_000
# The generated shop's tables, parents first: BUSINESS_TABLES after ``tenants`` and before
# what is derived from them (bundle rules, embeddings, search logs)
LOAD_ORDER = BUSINESS_TABLES[1 : BUSINESS_TABLES.index("bundle_rules")]
MARKET_CURRENCY = {
    "US": ("USD", "America/New_York"),
    "GB": ("GBP", "Europe/London"),
    "DE": ("EUR", "Europe/Berlin"),
}


class LoadProgress(Protocol):
    def __call__(self, table: str, rows: int, *, total: int) -> None: ...


def _quiet(table: str, rows: int, *, total: int) -> None:
    return None


@dataclass
class SeedReport:
    tenant: str
    shop_name: str
    seed: int
    end_date: str
    rows: dict[str, int] = field(default_factory=dict)
    bundle_rules: int = 0
    planted_bundles: list[tuple[str, str]] = field(default_factory=list)


async def business_row_count(connection: AsyncConnection, tenant_id: uuid.UUID) -> int:
    total = 0
    for table in ("categories", "products", "customers", "orders"):
        query = text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t")
        total += int(await connection.scalar(query, {"t": tenant_id}))
    return total


async def clear_business_data(connection: AsyncConnection, tenant_id: uuid.UUID) -> None:
    """Remove the tenant's shop data (orders first: items restrict product deletes)."""
    for table in ("orders", "customers", "products", "categories"):
        await connection.execute(
            text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
        )


async def tenant_for_seed(
    connection: AsyncConnection, *, slug: str, shop: DemoShop, settings: DatabaseSettings
) -> TenantRecord:
    try:
        return await get_tenant(connection, slug)
    except NotFound:
        country = shop.tables["customers"].rows[0][9]
        currency, timezone = MARKET_CURRENCY.get(country, ("EUR", "Europe/Paris"))
        return await create_tenant(
            connection,
            slug=slug,
            name=shop.name,
            settings=settings,
            currency=currency,
            timezone=timezone,
        )


async def load_shop(
    connection: AsyncConnection, shop: DemoShop, tenant_id: uuid.UUID, progress: LoadProgress
) -> dict[str, int]:
    offsets = {
        table: await reserve_ids(connection, table, len(shop.tables[table].rows))
        for table in NUMBERED_TABLES
    }
    counts = {}
    for name in LOAD_ORDER:
        table = shop.tables[name]
        rows = mapped_rows(name, table.columns, table.rows, tenant_id=tenant_id, offsets=offsets)
        advance = functools.partial(progress, name, total=len(rows))
        counts[name] = await copy_rows(connection, name, table.columns, rows, advance=advance)
    await analyze(connection, LOAD_ORDER)
    return counts


async def seed_tenant(
    engine: AsyncEngine,
    settings: DatabaseSettings,
    *,
    slug: str,
    seed: int = 1,
    orders: int = DEFAULT_ORDERS,
    end: date | None = None,
    replace: bool = False,
    generation_progress: Progress | None = None,
    load_progress: LoadProgress | None = None,
    products: int | None = None,
) -> SeedReport:
    """Generate and load a demo shop for ``slug`` (created if missing); all or nothing."""
    end = end or date.today()
    shop = generate_shop(
        seed=seed,
        orders=orders,
        end=end,
        progress=generation_progress or (lambda step, n: None),
        products=products,
    )
    async with engine.begin() as connection:
        # Lock before reading or deleting anything: taking the stronger lock later, after a
        # delete, let two concurrent seeds wait on each other (deadlock).
        await lock_for_loading(connection, LOAD_ORDER)
        tenant = await tenant_for_seed(connection, slug=slug, shop=shop, settings=settings)
        if await business_row_count(connection, tenant.id):
            if not replace:
                raise AlreadyExists(
                    f"tenant {slug!r} already has shop data: add --replace to overwrite it, or "
                    "seed another tenant",
                    code="tenant_has_data",
                )
            await clear_business_data(connection, tenant.id)
        counts = await load_shop(connection, shop, tenant.id, load_progress or _quiet)
        rules = await compute_rules(
            connection,
            tenant_id=tenant.id,
            min_support=DEFAULT_MIN_SUPPORT,
            min_confidence=DEFAULT_MIN_CONFIDENCE,
        )
    return SeedReport(slug, shop.name, seed, end.isoformat(), counts, rules, shop.bundles)
