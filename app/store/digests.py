"""Scheduled digests and their runs.

A run row is the claim: one row per digest and due time (unique), inserted with ``ON
CONFLICT DO NOTHING``, so of several instances due at once exactly one gets the row and sends.
A failed run waits for its retry (``status = 'retry'``, ``next_attempt_at``); a run whose
sender died midway is taken again when its lease ends. Retries are claimed with one ``UPDATE``
over rows locked ``FOR UPDATE SKIP LOCKED``, so they too go to one instance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import InvalidInput, NotFound

FREQUENCIES = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class DigestRow:
    id: int
    tenant_id: uuid.UUID
    tenant: str  # slug
    timezone: str
    user_id: int
    username: str
    dashboard_id: int | None
    tile_id: int | None
    frequency: str
    weekday: int | None
    hour: int
    email: str | None
    webhook_url: str | None
    is_active: bool
    created_at: datetime

    @property
    def when(self) -> str:
        day = f"{WEEKDAYS[self.weekday]}s" if self.weekday is not None else "every day"
        return f"{day} at {self.hour:02d}:00 ({self.timezone})"

    @property
    def target(self) -> str:
        return f"dashboard {self.dashboard_id}" if self.dashboard_id else f"tile {self.tile_id}"


@dataclass
class RunRow:
    id: int
    digest_id: int
    tenant: str
    due_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered: list[str]
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    content: dict[str, Any] | None = None


DIGEST_COLUMNS = (
    "g.id, g.tenant_id, t.slug AS tenant, t.timezone, g.user_id, u.username, g.dashboard_id, "
    "g.tile_id, g.frequency, g.weekday, g.hour, g.email, g.webhook_url, g.is_active, "
    "g.created_at FROM digests g JOIN tenants t ON t.id = g.tenant_id "
    "JOIN app_users u ON u.id = g.user_id"
)
RUN_COLUMNS = (
    "r.id, r.digest_id, t.slug AS tenant, r.due_at, r.status, r.attempts, r.next_attempt_at, "
    "r.delivered, r.error, r.started_at, r.finished_at"
)
CREATE = text(
    "INSERT INTO digests (tenant_id, user_id, dashboard_id, tile_id, frequency, weekday, hour, "
    "email, webhook_url) SELECT :tenant, :user, d.id, :tile, :frequency, :weekday, :hour, "
    ":email, :webhook FROM (SELECT 1) one LEFT JOIN dashboards d ON :dashboard AND "
    "d.tenant_id = :tenant AND d.user_id = :user RETURNING id"
)
TILE_OF_USER = text(
    "SELECT t.id FROM dashboard_tiles t JOIN dashboards d ON d.id = t.dashboard_id "
    "WHERE t.id = :tile AND t.tenant_id = :tenant AND (d.user_id = :user OR d.shared)"
)
ACTIVE = text(f"SELECT {DIGEST_COLUMNS} WHERE g.is_active ORDER BY g.id")
OF_TENANT = text(f"SELECT {DIGEST_COLUMNS} WHERE g.tenant_id = :tenant ORDER BY g.id")
ONE = text(f"SELECT {DIGEST_COLUMNS} WHERE g.id = :id")
CLAIM = text(
    "INSERT INTO digest_runs (tenant_id, digest_id, due_at, lease_until) "
    "VALUES (:tenant, :digest, :due, :lease) "
    "ON CONFLICT (digest_id, due_at) DO NOTHING RETURNING id"
)
CLAIM_RETRIES = text(
    "UPDATE digest_runs SET status = 'running', attempts = attempts + 1, lease_until = :lease, "
    "next_attempt_at = NULL WHERE id IN (SELECT id FROM digest_runs WHERE "
    "(status = 'retry' AND next_attempt_at <= :now) OR (status = 'running' AND lease_until < :now) "
    "ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING id, digest_id, due_at, attempts, delivered"
)
FINISH = text(
    "UPDATE digest_runs SET status = :status, error = :error, delivered = :delivered, "
    "content = :content, next_attempt_at = :next, lease_until = NULL, "
    "finished_at = CASE WHEN :status IN ('sent', 'failed') THEN now() END WHERE id = :id"
).bindparams(bindparam("content", type_=JSONB))
PREVIOUS_CONTENT = text(
    "SELECT content FROM digest_runs WHERE digest_id = :digest AND status = 'sent' "
    "AND due_at < :due ORDER BY due_at DESC LIMIT 1"
)
RUNS = text(
    f"SELECT {RUN_COLUMNS} FROM digest_runs r JOIN tenants t ON t.id = r.tenant_id "
    "WHERE (CAST(:tenant AS uuid) IS NULL OR r.tenant_id = :tenant) "
    "AND (NOT :failed OR r.error IS NOT NULL) ORDER BY r.started_at DESC, r.id DESC LIMIT :limit"
)


@dataclass
class Claimed:
    """A run this instance sends: its attempt number and the channels already reached."""

    run_id: int
    digest_id: int
    due_at: datetime
    attempts: int
    delivered: list[str]


async def create_digest(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    user_id: int,
    dashboard: bool,
    tile_id: int | None,
    frequency: str,
    weekday: int | None,
    hour: int,
    email: str | None,
    webhook_url: str | None,
) -> int:
    """A digest of the user's dashboard, or of one tile they may see; its id."""
    async with engine.begin() as connection:
        if tile_id is not None:
            found = await connection.scalar(
                TILE_OF_USER, {"tile": tile_id, "tenant": tenant_id, "user": user_id}
            )
            if found is None:
                raise NotFound(f"no tile {tile_id} this user may see", code="unknown_tile")
        values = {
            "tenant": tenant_id,
            "user": user_id,
            "dashboard": dashboard,
            "tile": tile_id,
            "frequency": frequency,
            "weekday": weekday,
            "hour": hour,
            "email": email,
            "webhook": webhook_url,
        }
        try:
            digest_id = await connection.scalar(CREATE, values)
        except IntegrityError:
            raise InvalidInput(
                "that user has no dashboard yet: pin an answer first", code="no_dashboard"
            ) from None
    return int(digest_id)


def rows_of(result: Any) -> list[DigestRow]:
    return [DigestRow(**row) for row in result.mappings().all()]


async def active_digests(engine: AsyncEngine) -> list[DigestRow]:
    async with engine.connect() as connection:
        return rows_of(await connection.execute(ACTIVE))


async def digests_of(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[DigestRow]:
    async with engine.connect() as connection:
        return rows_of(await connection.execute(OF_TENANT, {"tenant": tenant_id}))


async def digest(engine: AsyncEngine, digest_id: int) -> DigestRow | None:
    async with engine.connect() as connection:
        found = rows_of(await connection.execute(ONE, {"id": digest_id}))
    return found[0] if found else None


async def claim_run(
    engine: AsyncEngine, row: DigestRow, *, due_at: datetime, lease_until: datetime
) -> Claimed | None:
    """The run of ``row`` due at ``due_at`` if this call made it (None: another instance did)."""
    async with engine.begin() as connection:
        run_id = await connection.scalar(
            CLAIM,
            {"tenant": row.tenant_id, "digest": row.id, "due": due_at, "lease": lease_until},
        )
    return Claimed(int(run_id), row.id, due_at, 1, []) if run_id is not None else None


async def claim_retries(
    engine: AsyncEngine, *, now: datetime, lease_until: datetime
) -> list[Claimed]:
    """Runs waiting for their retry, or whose sender's lease ran out, now this instance's."""
    async with engine.begin() as connection:
        found = await connection.execute(CLAIM_RETRIES, {"now": now, "lease": lease_until})
        return [Claimed(r[0], r[1], r[2], r[3], list(r[4])) for r in found.all()]


async def finish_run(
    engine: AsyncEngine,
    run_id: int,
    *,
    status: str,
    delivered: list[str],
    error: str | None = None,
    content: dict[str, Any] | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    values = {
        "id": run_id,
        "status": status,
        "error": error,
        "delivered": delivered,
        "content": content,
        "next": next_attempt_at,
    }
    async with engine.begin() as connection:
        await connection.execute(FINISH, values)


async def previous_content(
    engine: AsyncEngine, digest_id: int, due_at: datetime
) -> dict[str, Any] | None:
    """What the digest's last sent run before ``due_at`` held (for changes since then)."""
    async with engine.connect() as connection:
        found = await connection.scalar(PREVIOUS_CONTENT, {"digest": digest_id, "due": due_at})
    return found if isinstance(found, dict) else None


async def runs(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID | None = None,
    failed: bool = False,
    limit: int = 100,
) -> list[RunRow]:
    """Runs, newest first (of one shop, or all); ``failed``: those with an error."""
    async with engine.connect() as connection:
        found = await connection.execute(
            RUNS, {"tenant": tenant_id, "failed": failed, "limit": limit}
        )
        return [RunRow(**row) for row in found.mappings().all()]
