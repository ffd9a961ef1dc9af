"""Personal API tokens (REST API and MCP) and who a request acts as (``Principal``).

A token is ``bichat_`` and 43 characters of ``secrets.token_urlsafe`` (256 random bits); it is
shown once, when it is made, and only its SHA-256 is stored (a token this random needs no
slow hash: it cannot be guessed, and the table gives nothing back). Its first characters
(``prefix``) are kept to tell tokens apart in lists.

Every request reads the token, its user and its shop again (one query by primary key of the
hash): a revoked or expired token, or a deactivated user, stops working at the next request.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import BichatError, InvalidInput, NotFound
from app.store.conversations import autocommit
from db.reads import read_rows
from db.tenants import TenantRecord

TOKEN_PREFIX = "bichat_"  # noqa: S105 - what every token starts with, not a secret
SHOWN_CHARS = 12  # of a token, kept and shown to recognise it: "bichat_" and 5 more
MAX_NAME_CHARS = 100
MAX_EXPIRES_DAYS = 3650
TOUCH_AFTER = timedelta(minutes=1)  # last_used_at is written at most this often per token
TENANT_COLUMNS = (
    "t.id AS t_id, t.slug, t.name AS t_name, t.currency, t.timezone, "
    "t.created_at AS t_created_at, t.week_start"
)


class AccessRefused(BichatError):
    """The token or user may not be used (any more); ``code`` says why."""

    code = "invalid_token"


class Asker(TypedDict):
    """Who asks a turn, as ``TurnRunner.stream`` takes it."""

    tenant: TenantRecord
    user_id: int
    api_token_id: int | None


@dataclass(frozen=True)
class Principal:
    """Who a programmatic request acts as: one active user of one shop, through a token (or,
    over MCP's stdio, as the user named on the command line: ``token_id`` None)."""

    tenant: TenantRecord
    user_id: int
    username: str
    role: str
    token_id: int | None = None

    @property
    def label(self) -> str:
        """For the audit log: ``token-7`` or ``user-3``."""
        return f"token-{self.token_id}" if self.token_id else f"user-{self.user_id}"

    def asker(self) -> Asker:
        return Asker(tenant=self.tenant, user_id=self.user_id, api_token_id=self.token_id)


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    prefix: str
    username: str
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "username": self.username,
            "status": self.status,
            "created_at": stamp(self.created_at),
            "expires_at": stamp(self.expires_at),
            "revoked_at": stamp(self.revoked_at),
            "last_used_at": stamp(self.last_used_at),
        }


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_token_fields(name: str, expires_days: int | None) -> str:
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"the token name is {len(cleaned)} characters; the limit is {MAX_NAME_CHARS}",
            code="invalid_name",
        )
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(
            f"expires-days must be from 1 to {MAX_EXPIRES_DAYS}, not {expires_days}",
            code="invalid_expiry",
        )
    return cleaned


RECORD_COLUMNS = (
    "k.id, k.name, k.prefix, u.username, k.user_id, k.created_at, k.expires_at, "
    "k.revoked_at, k.last_used_at"
)


async def create_token(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    user_id: int,
    name: str = "",
    expires_days: int | None = None,
    created_by: int | None = None,
) -> tuple[TokenRecord, str]:
    """A new token for an active user of the tenant: its record and the token itself (to be
    shown once; it cannot be read back)."""
    cleaned = check_token_fields(name, expires_days)
    token = new_token()
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    async with engine.begin() as connection:
        token_id = await connection.scalar(
            text(
                "INSERT INTO api_tokens (tenant_id, user_id, name, prefix, token_sha256, "
                "created_by, expires_at) SELECT u.tenant_id, u.id, :name, :prefix, :sha, :by, "
                ":expires FROM app_users u WHERE u.id = :user AND u.tenant_id = :tenant "
                "AND u.is_active RETURNING id"
            ),
            {
                "name": cleaned,
                "prefix": token[:SHOWN_CHARS],
                "sha": token_hash(token),
                "by": created_by,
                "expires": expires,
                "user": user_id,
                "tenant": tenant_id,
            },
        )
    if token_id is None:
        raise NotFound("no active user of this shop with that id", code="unknown_user")
    return await token_record(engine, tenant_id=tenant_id, token_id=int(token_id)), token


async def list_tokens(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, user_id: int | None = None
) -> list[TokenRecord]:
    """The shop's tokens (or one user's), newest first, revoked and expired ones included."""
    mine = " AND k.user_id = :user" if user_id is not None else ""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                f"SELECT {RECORD_COLUMNS} FROM api_tokens k JOIN app_users u ON u.id = k.user_id "
                f"WHERE k.tenant_id = :tenant{mine} ORDER BY k.created_at DESC, k.id DESC"
            ),
            {"tenant": tenant_id, "user": user_id},
        )
        return [TokenRecord(*row) for row in rows]


async def token_record(engine: AsyncEngine, *, tenant_id: uuid.UUID, token_id: int) -> TokenRecord:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    f"SELECT {RECORD_COLUMNS} FROM api_tokens k "
                    "JOIN app_users u ON u.id = k.user_id "
                    "WHERE k.id = :id AND k.tenant_id = :tenant"
                ),
                {"id": token_id, "tenant": tenant_id},
            )
        ).first()
    if row is None:
        raise NotFound(f"no token {token_id} in this shop", code="unknown_token")
    return TokenRecord(*row)


async def revoke_token(engine: AsyncEngine, *, tenant_id: uuid.UUID, token_id: int) -> TokenRecord:
    """Revoke a token of the tenant (at once: the next request with it is refused). Revoking
    a revoked token changes nothing."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE api_tokens SET revoked_at = now() "
                "WHERE id = :id AND tenant_id = :tenant AND revoked_at IS NULL"
            ),
            {"id": token_id, "tenant": tenant_id},
        )
    return await token_record(engine, tenant_id=tenant_id, token_id=token_id)


PRINCIPAL_SQL = text(
    "SELECT k.id, k.user_id, k.expires_at, k.revoked_at, k.last_used_at, u.username, u.role, "
    f"u.is_active, {TENANT_COLUMNS} FROM api_tokens k JOIN app_users u ON u.id = k.user_id "
    "JOIN tenants t ON t.id = k.tenant_id WHERE k.token_sha256 = :sha AND u.tenant_id = t.id"
)


def tenant_of(row: Any) -> TenantRecord:
    return TenantRecord(
        row.t_id, row.slug, row.t_name, row.currency, row.timezone, row.t_created_at, row.week_start
    )


async def principal_for_token(engine: AsyncEngine, token: str) -> Principal:
    """Who the token acts as, read now; ``AccessRefused`` (``invalid_token``,
    ``token_revoked``, ``token_expired``, ``user_inactive``) otherwise."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise AccessRefused("this is not a bichat API token (they start with bichat_)")
    async with engine.connect() as connection:
        row = (await connection.execute(PRINCIPAL_SQL, {"sha": token_hash(token)})).first()
    if row is None:
        raise AccessRefused("unknown API token: create one with `bichat tokens create`")
    now = datetime.now(UTC)
    if row.revoked_at is not None:
        raise AccessRefused("this API token was revoked", code="token_revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise AccessRefused("this API token has expired", code="token_expired")
    if not row.is_active:
        raise AccessRefused(f"the user {row.username} is deactivated", code="user_inactive")
    if row.last_used_at is None or now - row.last_used_at > TOUCH_AFTER:
        await touch(engine, row.id)
    return Principal(tenant_of(row), row.user_id, row.username, row.role, row.id)


async def touch(engine: AsyncEngine, token_id: int) -> None:
    async with autocommit(engine) as connection:
        await connection.execute(
            text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"), {"id": token_id}
        )


async def principal_for_user(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, user_id: int
) -> Principal:
    """The user, read now (MCP over stdio re-reads its user on every call)."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    f"SELECT u.id, u.username, u.role, u.is_active, {TENANT_COLUMNS} "
                    "FROM app_users u JOIN tenants t ON t.id = u.tenant_id "
                    "WHERE u.id = :user AND u.tenant_id = :tenant"
                ),
                {"user": user_id, "tenant": tenant_id},
            )
        ).first()
    if row is None or not row.is_active:
        raise AccessRefused("this user is deactivated or gone", code="user_inactive")
    return Principal(tenant_of(row), row.id, row.username, row.role)


@dataclass(frozen=True)
class ShopUser:
    id: int
    username: str
    role: str


async def active_users(engine: AsyncEngine, *, tenant_id: uuid.UUID) -> list[ShopUser]:
    """The shop's active users, who tokens can be made for."""
    rows = await read_rows(
        engine,
        "SELECT id, username, role FROM app_users WHERE tenant_id = :tenant AND is_active "
        "ORDER BY username",
        {"tenant": tenant_id},
    )
    return [ShopUser(row.id, row.username, row.role) for row in rows]
