"""Seeded demo shops for the semantic layer, a clock frozen on their last day, and the layer.

- ``london``: demo shop (seed 41, 3,000 orders ending 2026-11-22, Europe/London, weeks from
  Monday);
- ``kiritimati``: another demo shop (seed 43) moved to Pacific/Kiritimati (UTC+14, the
  furthest from UTC there is) with weeks starting on Sunday.
The clock stands at 2026-11-22 12:00 UTC: noon in London, 02:00 on 23 November in Kiritimati.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import pytest_asyncio
from sqlalchemy import text

from app.semantic.periods import FrozenClock
from app.semantic.service import SemanticLayer
from db.seed import seed_tenant
from db.tenants import TenantRecord, get_tenant

END = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CLOCK = FrozenClock(NOW)


@dataclass
class Shops:
    london: TenantRecord
    kiritimati: TenantRecord


async def seeded(engine, settings, slug: str, seed: int, orders: int) -> TenantRecord:
    await seed_tenant(engine, settings, slug=slug, seed=seed, orders=orders, end=END)
    async with engine.connect() as connection:
        return await get_tenant(connection, slug)


@pytest_asyncio.fixture(scope="module")
async def shops(engine, settings) -> Shops:
    london = await seeded(engine, settings, "sem-london", 41, 3000)
    other = await seeded(engine, settings, "sem-kiritimati", 43, 1500)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE tenants SET timezone = 'Pacific/Kiritimati', week_start = 'sunday' "
                "WHERE id = :t"
            ),
            {"t": other.id},
        )
        kiritimati = await get_tenant(connection, other.slug)
    assert london.timezone == "Europe/London"
    return Shops(london, kiritimati)


@pytest.fixture(scope="module")
def executor(module_executor):
    return module_executor


@pytest_asyncio.fixture(scope="module")
async def layer(engine, shops) -> SemanticLayer:
    return SemanticLayer(engine=engine, clock=CLOCK)
