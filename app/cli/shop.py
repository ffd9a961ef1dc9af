"""A command's work on one shop: the settings, the open engine and the tenant ``--tenant``
chose, opened one way for every such command (and the SQL tool's executor for those that
query the shop's data), so each command's work is only its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from app.cli.runner import run
from app.cli.tenant_choice import tenant_of
from app.config import Settings
from db.engine import open_engine, owner_url
from db.tenants import TenantRecord

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.tools.sql import SqlExecutor

T = TypeVar("T")


@dataclass(frozen=True)
class Shop:
    settings: Settings
    engine: AsyncEngine
    tenant: TenantRecord

    @asynccontextmanager
    async def executor(self) -> AsyncIterator[SqlExecutor]:
        """The SQL tool's executor on this database (its reader pool closed afterwards)."""
        from app.tools.sql import SqlExecutor  # loaded only by the commands that query data

        owner = owner_url(self.settings)
        executor = SqlExecutor(engine=self.engine, settings=self.settings, owner_url=owner)
        try:
            yield executor
        finally:
            await executor.close()


def run_in_shop(
    slug: str | None, work: Callable[[Shop], Awaitable[T]], *, as_json: bool = False
) -> T:
    """``run`` with the engine open and the tenant chosen by ``--tenant``: ``work(shop)``'s
    result, or its typed error as one line (or JSON) and exit 1."""

    async def in_shop(settings: Settings) -> T:
        async with open_engine(settings) as engine:
            return await work(Shop(settings, engine, await tenant_of(engine, slug)))

    return run(in_shop, as_json=as_json)
