"""Tenants: create (with their reader role), look up, list and delete (every row, every table)."""

from __future__ import annotations

import difflib
import re
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.errors import AlreadyExists, InvalidInput, NotFound
from db.models import APPLICATION_TABLES, BUSINESS_TABLES
from db.models.business import SLUG_PATTERN, WEEKDAYS
from db.roles import create_reader_role, drop_reader_role
from db.settings import DatabaseSettings

CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class TenantRecord:
    id: uuid.UUID
    slug: str
    name: str
    currency: str
    timezone: str
    created_at: datetime
    week_start: str = "monday"  # the first day of the shop's weeks

    def to_dict(self) -> dict[str, str]:
        return {
            "id": str(self.id),
            "slug": self.slug,
            "name": self.name,
            "currency": self.currency,
            "timezone": self.timezone,
            "created_at": self.created_at.isoformat(),
            "week_start": self.week_start,
        }


def validate_slug(slug: str) -> str:
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidInput(
            f"invalid tenant slug {slug!r}: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit (e.g. acme-shop)",
            code="invalid_slug",
        )
    return slug


def validate_tenant_fields(
    *, name: str, currency: str, timezone: str, week_start: str = "monday"
) -> None:
    if not name.strip():
        raise InvalidInput("the tenant name is empty: pass --name 'Shop name'", code="invalid_name")
    if not CURRENCY_PATTERN.fullmatch(currency):
        raise InvalidInput(
            f"invalid currency {currency!r}: use an ISO 4217 code such as USD",
            code="invalid_currency",
        )
    if timezone not in zoneinfo.available_timezones():
        raise InvalidInput(
            f"unknown timezone {timezone!r}: use an IANA name such as Europe/Berlin",
            code="invalid_timezone",
        )
    if week_start not in WEEKDAYS:
        raise InvalidInput(
            f"invalid week start {week_start!r}: use a weekday name such as monday or sunday",
            code="invalid_week_start",
        )


_TENANT_COLUMNS = "id, slug, name, currency, timezone, created_at, week_start"


async def create_tenant(
    connection: AsyncConnection,
    *,
    slug: str,
    name: str,
    settings: DatabaseSettings,
    currency: str = "USD",
    timezone: str = "UTC",
    week_start: str = "monday",
) -> TenantRecord:
    """Insert the tenant and its reader role (call inside a transaction)."""
    validate_slug(slug)
    validate_tenant_fields(name=name, currency=currency, timezone=timezone, week_start=week_start)
    savepoint = await connection.begin_nested()
    try:
        row = (
            await connection.execute(
                text(
                    "INSERT INTO tenants (slug, name, currency, timezone, week_start) "
                    f"VALUES (:slug, :name, :currency, :tz, :week) RETURNING {_TENANT_COLUMNS}"
                ),
                {
                    "slug": slug,
                    "name": name.strip(),
                    "currency": currency,
                    "tz": timezone,
                    "week": week_start,
                },
            )
        ).one()
        await savepoint.commit()
    except IntegrityError:
        await savepoint.rollback()
        raise AlreadyExists(f"a tenant with slug {slug!r} already exists") from None
    tenant = TenantRecord(*row)
    await create_reader_role(connection, tenant.id, settings)
    return tenant


async def list_tenants(connection: AsyncConnection) -> list[TenantRecord]:
    rows = await connection.execute(text(f"SELECT {_TENANT_COLUMNS} FROM tenants ORDER BY slug"))
    return [TenantRecord(*row) for row in rows]


async def get_tenant(connection: AsyncConnection, slug: str) -> TenantRecord:
    """The tenant with ``slug``, or ``NotFound`` naming the closest slugs."""
    row = (
        await connection.execute(
            text(f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE slug = :slug"), {"slug": slug}
        )
    ).one_or_none()
    if row is not None:
        return TenantRecord(*row)
    known = [t.slug for t in await list_tenants(connection)]
    close = difflib.get_close_matches(slug, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else " See `bichat tenants list`."
    raise NotFound(f"unknown tenant {slug!r}.{hint}", code="unknown_tenant")


async def count_tenant_rows(connection: AsyncConnection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows the tenant owns in every table (business and application)."""
    counts = {}
    for table in (*BUSINESS_TABLES, *APPLICATION_TABLES):
        column = "id" if table == "tenants" else "tenant_id"
        query = text(f"SELECT count(*) FROM {table} WHERE {column} = :t")
        counts[table] = int(await connection.scalar(query, {"t": tenant_id}))
    return counts


async def delete_tenant(connection: AsyncConnection, *, slug: str) -> dict[str, int]:
    """Delete the tenant, every row it owns (by cascade) and its reader role.

    Returns the rows deleted per table. Call inside a transaction.
    """
    tenant = await get_tenant(connection, slug)
    counts = await count_tenant_rows(connection, tenant.id)
    role = await connection.scalar(
        text("SELECT role_name FROM tenant_readers WHERE tenant_id = :t"), {"t": tenant.id}
    )
    await connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant.id})
    if role:
        await drop_reader_role(connection, role)
    return counts
