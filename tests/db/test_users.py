"""App users: argon2 hashes, roles, and refusals that write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.errors import AlreadyExists, InvalidInput, NotFound
from db.passwords import verify_password
from db.tenants import create_tenant
from db.users import create_user, list_users


@pytest.fixture
async def tenant(connection, settings, unique_slug):
    return await create_tenant(connection, slug=unique_slug("users"), name="U", settings=settings)


async def stored_hash(connection, username):
    return await connection.scalar(
        text("SELECT password_hash FROM app_users WHERE username = :u"), {"u": username}
    )


async def test_create_admin_and_analyst_with_argon2_hashes(connection, tenant):
    admin = await create_user(
        connection, username="ada", tenant_slug=tenant.slug, password="s3cret-pass", admin=True
    )
    analyst = await create_user(
        connection, username="bob", tenant_slug=tenant.slug, password="an0ther-pass", admin=False
    )
    assert (admin.role, analyst.role) == ("admin", "analyst")
    hashed = await stored_hash(connection, "ada")
    assert hashed.startswith("$argon2id$")
    assert verify_password("s3cret-pass", hashed)
    assert not verify_password("wrong-pass", hashed)
    listed = await list_users(connection, tenant_slug=tenant.slug)
    assert [(u.username, u.role) for u in listed] == [("ada", "admin"), ("bob", "analyst")]


@pytest.mark.parametrize(
    ("password", "code"),
    [("", "empty_password"), ("   ", "empty_password"), ("short", "weak_password")],
)
async def test_bad_passwords_are_refused(connection, tenant, password, code):
    with pytest.raises(InvalidInput) as raised:
        await create_user(
            connection, username="carol", tenant_slug=tenant.slug, password=password, admin=False
        )
    assert raised.value.code == code
    assert await stored_hash(connection, "carol") is None


@pytest.mark.parametrize("username", ["", "has space", "-dash", "x" * 64, "semi;colon"])
async def test_bad_usernames_are_refused(connection, tenant, username):
    with pytest.raises(InvalidInput, match="invalid username"):
        await create_user(
            connection,
            username=username,
            tenant_slug=tenant.slug,
            password="s3cret-pass",
            admin=False,
        )


async def test_duplicate_username_is_refused(connection, tenant):
    await create_user(
        connection, username="dup", tenant_slug=tenant.slug, password="s3cret-pass", admin=False
    )
    with pytest.raises(AlreadyExists):
        await create_user(
            connection, username="dup", tenant_slug=tenant.slug, password="0ther-pass", admin=True
        )
    assert len([u for u in await list_users(connection) if u.username == "dup"]) == 1


async def test_unknown_tenant_is_refused(connection):
    with pytest.raises(NotFound, match="unknown tenant"):
        await create_user(
            connection, username="eve", tenant_slug="nowhere", password="s3cret-pass", admin=False
        )
