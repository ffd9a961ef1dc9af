"""The ``--tenant`` option of every command that works on one shop: a slug, or nothing when
the database holds exactly one tenant (the usual single-shop install). One definition, so the
rule and its error read the same everywhere."""

from __future__ import annotations

from typing import overload

import typer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.errors import InvalidInput
from db.tenants import TenantRecord, get_tenant, list_tenants
from db.users import user_id_for

TENANT = typer.Option(
    None, "--tenant", help="Tenant slug (may be left out when there is only one tenant)."
)
SHOWN_SLUGS = 10


async def chosen_tenant(connection: AsyncConnection, slug: str | None) -> TenantRecord:
    """The tenant named by ``--tenant``; without it, the only tenant there is."""
    if slug is not None:
        return await get_tenant(connection, slug)
    tenants = await list_tenants(connection)
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        raise InvalidInput(
            "there is no tenant yet: create one with `bichat tenants create SLUG --name NAME` "
            "(`bichat serve` creates the demo shop)",
            code="tenant_required",
        )
    slugs = ", ".join(t.slug for t in tenants[:SHOWN_SLUGS])
    more = f" and {len(tenants) - SHOWN_SLUGS} more" if len(tenants) > SHOWN_SLUGS else ""
    raise InvalidInput(
        f"there are {len(tenants)} tenants ({slugs}{more}): choose one with --tenant SLUG",
        code="tenant_required",
    )


async def tenant_of(engine: AsyncEngine, slug: str | None) -> TenantRecord:
    """``chosen_tenant`` on a connection of its own."""
    async with engine.connect() as connection:
        return await chosen_tenant(connection, slug)


@overload
async def tenant_and_user(
    engine: AsyncEngine, slug: str | None, username: str
) -> tuple[TenantRecord, int]: ...


@overload
async def tenant_and_user(
    engine: AsyncEngine, slug: str | None, username: str | None
) -> tuple[TenantRecord, int | None]: ...


async def tenant_and_user(
    engine: AsyncEngine, slug: str | None, username: str | None
) -> tuple[TenantRecord, int | None]:
    """The chosen tenant and the id of its user ``username`` (None when none is named)."""
    async with engine.connect() as connection:
        found = await chosen_tenant(connection, slug)
        if username is None:
            return found, None
        return found, await user_id_for(connection, username=username, tenant_id=found.id)


async def chosen_slug(connection: AsyncConnection, slug: str | None) -> str:
    """``--tenant`` as given (it may name a tenant still to be created), else the only one."""
    return slug if slug is not None else (await chosen_tenant(connection, None)).slug
