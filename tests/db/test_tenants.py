"""Tenants: creation with a reader role, lookups with suggestions, and complete deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.errors import AlreadyExists, InvalidInput, NotFound
from db.models import APPLICATION_TABLES, BUSINESS_TABLES
from db.tenants import count_tenant_rows, create_tenant, delete_tenant, get_tenant, list_tenants


async def test_create_records_the_tenant_and_its_reader_role(connection, settings):
    tenant = await create_tenant(
        connection,
        slug="outdoors-co",
        name=" Outdoors Co ",
        settings=settings,
        currency="EUR",
        timezone="Europe/Berlin",
    )
    assert (tenant.slug, tenant.name, tenant.currency, tenant.timezone) == (
        "outdoors-co",
        "Outdoors Co",
        "EUR",
        "Europe/Berlin",
    )
    role = await connection.scalar(
        text("SELECT role_name FROM tenant_readers WHERE tenant_id = :t"), {"t": tenant.id}
    )
    assert role == f"bichat_t_{tenant.id.hex}"
    login = await connection.scalar(
        text(
            "SELECT rolcanlogin AND NOT rolsuper AND NOT rolbypassrls FROM pg_roles WHERE rolname = :r"
        ),
        {"r": role},
    )
    assert login is True
    assert "outdoors-co" in [t.slug for t in await list_tenants(connection)]


@pytest.mark.parametrize(
    "slug", ["", "Upper", "under_score", "-leading", "trailing-", "a" * 64, "sp ace", "émoji"]
)
async def test_invalid_slugs_are_refused(connection, settings, slug):
    with pytest.raises(InvalidInput, match="invalid tenant slug"):
        await create_tenant(connection, slug=slug, name="X", settings=settings)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "name is empty"),
        ("currency", "usd", "ISO 4217"),
        ("currency", "DOLLARS", "ISO 4217"),
        ("timezone", "Mars/Base", "unknown timezone"),
    ],
)
async def test_invalid_fields_are_refused(connection, settings, field, value, message):
    fields = {"name": "X", "currency": "USD", "timezone": "UTC", field: value}
    with pytest.raises(InvalidInput, match=message):
        await create_tenant(connection, slug="fields", settings=settings, **fields)


async def test_duplicate_slug_is_refused_and_writes_nothing(engine, settings):
    async with engine.begin() as connection:
        await create_tenant(connection, slug="twice", name="First", settings=settings)
    async with engine.begin() as connection:
        with pytest.raises(AlreadyExists, match="already exists"):
            await create_tenant(connection, slug="twice", name="Second", settings=settings)
    async with engine.connect() as connection:
        names = (
            await connection.scalars(text("SELECT name FROM tenants WHERE slug = 'twice'"))
        ).all()
        readers = await connection.scalar(text("SELECT count(*) FROM tenant_readers"))
        tenants = await connection.scalar(text("SELECT count(*) FROM tenants"))
    assert names == ["First"]
    assert readers == tenants


async def test_unknown_tenant_suggests_close_slugs(connection, settings):
    await create_tenant(connection, slug="garden-store", name="G", settings=settings)
    with pytest.raises(NotFound, match="Did you mean garden-store"):
        await get_tenant(connection, "garden-stor")
    with pytest.raises(NotFound, match="bichat tenants list"):
        await get_tenant(connection, "zzzzzzzzzzzz")


async def test_delete_removes_every_row_in_every_table_and_the_role(engine, filled_tenant):
    doomed, counts = await filled_tenant()
    kept, _ = await filled_tenant()
    async with engine.connect() as connection:
        assert await count_tenant_rows(connection, doomed.id) == counts
        kept_before = await count_tenant_rows(connection, kept.id)
    async with engine.begin() as connection:
        deleted = await delete_tenant(connection, slug=doomed.slug)
    assert deleted == counts
    assert set(deleted) == {*BUSINESS_TABLES, *APPLICATION_TABLES}
    async with engine.connect() as connection:
        remaining = await count_tenant_rows(connection, doomed.id)
        role = await connection.scalar(
            text("SELECT count(*) FROM pg_roles WHERE rolname = :r"),
            {"r": f"bichat_t_{doomed.id.hex}"},
        )
        assert await count_tenant_rows(connection, kept.id) == kept_before
    assert set(remaining.values()) == {0}
    assert role == 0


async def test_delete_of_unknown_tenant_changes_nothing(engine):
    async with engine.connect() as connection:
        before = await connection.scalar(text("SELECT count(*) FROM tenants"))
    async with engine.begin() as connection:
        with pytest.raises(NotFound):
            await delete_tenant(connection, slug="no-such-shop")
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM tenants")) == before
