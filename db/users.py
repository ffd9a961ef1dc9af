"""App users (people who log in to the chat and the admin pages)."""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.errors import AlreadyExists, InvalidInput, NotFound
from db.passwords import HASH_POOL, check_password, hash_password
from db.tenants import get_tenant

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$")


@functools.cache
def dummy_hash() -> str:
    """Verified against when no user matches, so both failures take the same time."""
    return hash_password("not-a-real-password")


@dataclass(frozen=True)
class UserRecord:
    username: str
    tenant: str
    role: str
    is_active: bool
    created_at: datetime

    def to_dict(self) -> dict[str, str | bool]:
        return {
            "username": self.username,
            "tenant": self.tenant,
            "role": self.role,
            "is_active": self.is_active,
            "created_at": self.created_at.isoformat(),
        }


def validate_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(
            f"invalid username {username!r}: use 1-63 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            code="invalid_username",
        )
    return username


async def create_user(
    connection: AsyncConnection, *, username: str, tenant_slug: str, password: str, admin: bool
) -> UserRecord:
    """Create a user of ``tenant_slug`` with an argon2 password hash (inside a transaction)."""
    validate_username(username)
    password_hash = hash_password(password)
    tenant = await get_tenant(connection, tenant_slug)
    role = "admin" if admin else "analyst"
    savepoint = await connection.begin_nested()
    try:
        created = await connection.scalar(
            text(
                "INSERT INTO app_users (tenant_id, username, password_hash, role) "
                "VALUES (:t, :u, :h, :r) RETURNING created_at"
            ),
            {"t": tenant.id, "u": username, "h": password_hash, "r": role},
        )
        await savepoint.commit()
    except IntegrityError:
        await savepoint.rollback()
        raise AlreadyExists(f"a user named {username!r} already exists") from None
    return UserRecord(username, tenant.slug, role, True, created)


async def list_users(
    connection: AsyncConnection, *, tenant_slug: str | None = None
) -> list[UserRecord]:
    query = (
        "SELECT u.username, t.slug, u.role, u.is_active, u.created_at FROM app_users u "
        "JOIN tenants t ON t.id = u.tenant_id"
    )
    params = {}
    if tenant_slug is not None:
        tenant = await get_tenant(connection, tenant_slug)
        query += " WHERE u.tenant_id = :t"
        params["t"] = tenant.id
    rows = await connection.execute(text(query + " ORDER BY t.slug, u.username"), params)
    return [UserRecord(*row) for row in rows]


async def user_id_for(connection: AsyncConnection, *, username: str, tenant_id: uuid.UUID) -> int:
    """The id of an active user of the tenant, or ``NotFound`` naming the tenant's users."""
    user_id = await connection.scalar(
        text("SELECT id FROM app_users WHERE username = :u AND tenant_id = :t AND is_active"),
        {"u": username, "t": tenant_id},
    )
    if user_id is None:
        raise NotFound(
            f"no active user {username!r} in this tenant (see `bichat users list`)",
            code="unknown_user",
        )
    return int(user_id)


@dataclass(frozen=True)
class LoginUser:
    id: int
    username: str
    role: str
    tenant: str


async def authenticate(engine: AsyncEngine, *, username: str, password: str) -> LoginUser | None:
    """The active user with this password, or None (same answer, and about the same time, for
    every kind of failure). The user is read on a connection that is given back before the
    password is checked (in the hashing pool, off the event loop)."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT u.id, u.username, u.role, u.password_hash, t.slug FROM app_users u "
                    "JOIN tenants t ON t.id = u.tenant_id WHERE u.username = :u AND u.is_active"
                ),
                {"u": username},
            )
        ).first()
    if row is None:
        loop = asyncio.get_running_loop()
        await check_password(password, await loop.run_in_executor(HASH_POOL, dummy_hash))
        return None
    if not await check_password(password, row.password_hash):
        return None
    return LoginUser(row.id, row.username, row.role, row.slug)


@dataclass(frozen=True)
class ActiveUser:
    """A user as every request sees them: read again each time, so deactivating or deleting
    the user, or their tenant, ends their sessions at the next request."""

    id: int
    username: str
    role: str
    created_at: datetime
    tenant_id: uuid.UUID
    tenant: str  # slug
    tenant_name: str
    timezone: str
    currency: str


async def active_user(connection: AsyncConnection, user_id: int) -> ActiveUser | None:
    """The user with this id if they (and their tenant) still exist and they are active."""
    row = (
        await connection.execute(
            text(
                "SELECT u.id, u.username, u.role, u.created_at, u.tenant_id, t.slug AS tenant, "
                "t.name AS tenant_name, t.timezone, t.currency FROM app_users u "
                "JOIN tenants t ON t.id = u.tenant_id WHERE u.id = :id AND u.is_active"
            ),
            {"id": user_id},
        )
    ).first()
    return ActiveUser(**row._asdict()) if row else None


async def count_users(connection: AsyncConnection) -> int:
    return int(await connection.scalar(text("SELECT count(*) FROM app_users")) or 0)
