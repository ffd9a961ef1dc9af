"""Running digests: every active digest whose due time has come gets its run row (the claim:
of several instances, one inserts it and sends); runs waiting for a retry, or whose sender's
lease ran out, are claimed the same way. A run composes the digest as its user (the user read
again, the tiles they may still see, each through the guard as the shop's reader role),
sends it to the channels it has not reached yet, and stores its outcome: ``sent``; ``retry``
after ``BICHAT_DIGEST_RETRY_BASE_S`` * 2^(attempt-1) until ``BICHAT_DIGEST_MAX_ATTEMPTS``;
then ``failed``, with the error (listed at ``/admin/digests`` and by ``bichat digest runs``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.dashboards.tiles import Tiles
from app.digests.content import (
    DigestContent,
    TileDigest,
    as_slack,
    as_text,
    figures_of,
    with_changes_since,
)
from app.digests.deliver import EMAIL, WEBHOOK, post_webhook, send_email
from app.digests.insights import DigestInsights, LibraryInsights
from app.digests.schedule import last_due
from app.embeddings import build_embeddings
from app.errors import BichatError
from app.semantic.service import SemanticLayer
from app.store import digests as store
from app.store import pins
from app.store.digests import Claimed, DigestRow
from app.store.pins import TileRow, Viewer
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor
from app.tools.tool import ToolServices
from db.engine import open_engine, owner_url
from db.tenants import TenantRecord, get_tenant
from db.users import active_user

log = logging.getLogger(__name__)


class UserGone(BichatError):
    """The digest's user was deactivated or deleted: retrying will not help."""

    code = "user_inactive"


@dataclass
class RunOutcome:
    run_id: int
    digest_id: int
    due_at: datetime
    status: str  # sent | retry | failed
    attempts: int
    delivered: list[str]
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "due_at": self.due_at.isoformat()}


class DigestRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        services: ToolServices,
        settings: Settings,
        *,
        insights: DigestInsights | None = None,
    ) -> None:
        self.engine, self.settings, self.insights = engine, settings, insights
        self.tiles = Tiles(engine, services, ttl_s=0)

    async def run_due(self, now: datetime | None = None) -> list[RunOutcome]:
        """Send what is due at ``now`` (default: the clock) and the retries that are due."""
        now = now or datetime.now(UTC)
        lease = now + timedelta(seconds=self.settings.digest_lease_s)
        claimed: list[tuple[DigestRow, Claimed]] = []
        for row in await store.active_digests(self.engine):
            due = last_due(
                frequency=row.frequency,
                hour=row.hour,
                weekday=row.weekday,
                timezone=row.timezone,
                now=now,
            )
            if due < row.created_at:
                continue  # no digest for a time before it existed
            run = await store.claim_run(self.engine, row, due_at=due, lease_until=lease)
            if run is not None:
                claimed.append((row, run))
        for run in await store.claim_retries(self.engine, now=now, lease_until=lease):
            found = await store.digest(self.engine, run.digest_id)
            if found is not None:
                claimed.append((found, run))
        return [await self.attempt(row, run, now) for row, run in claimed]

    async def attempt(self, row: DigestRow, run: Claimed, now: datetime) -> RunOutcome:
        delivered, content, errors = list(run.delivered), None, []
        final = False
        try:
            content = await self.compose(row, run.due_at)
            errors = await self.deliver(row, content, delivered)
        except UserGone as gone:
            errors, final = [gone.message], True
        except BichatError as failure:
            errors = [failure.message]
        status, next_at = "sent", None
        if errors:
            status = (
                "failed" if final or run.attempts >= self.settings.digest_max_attempts else "retry"
            )
            if status == "retry":
                wait = self.settings.digest_retry_base_s * 2 ** (run.attempts - 1)
                next_at = now + timedelta(seconds=wait)
        error = "; ".join(errors) or None
        await store.finish_run(
            self.engine,
            run.run_id,
            status=status,
            delivered=delivered,
            error=error,
            content=content.to_dict() if content else None,
            next_attempt_at=next_at,
        )
        return RunOutcome(run.run_id, row.id, run.due_at, status, run.attempts, delivered, error)

    async def deliver(
        self, row: DigestRow, content: DigestContent, delivered: list[str]
    ) -> list[str]:
        """Send to each channel not reached yet; ``delivered`` grows; the errors."""
        errors = []
        for channel, address in ((EMAIL, row.email), (WEBHOOK, row.webhook_url)):
            if not address or channel in delivered:
                continue
            try:
                await self.send(channel, address, content)
            except BichatError as error:
                errors.append(error.message)
            else:
                delivered.append(channel)
        return errors

    async def send(self, channel: str, address: str, content: DigestContent) -> None:
        if channel == EMAIL:
            subject = f"bichat digest: {content.title}"
            await send_email(self.settings, to=address, subject=subject, body=as_text(content))
        else:
            await post_webhook(self.settings, address, as_slack(content))

    async def compose(self, row: DigestRow, due_at: datetime) -> DigestContent:
        async with self.engine.connect() as connection:
            user = await active_user(connection, row.user_id)
            tenant = await get_tenant(connection, row.tenant)
        if user is None or user.tenant_id != row.tenant_id:
            raise UserGone(f"{row.username} is no longer an active user of {row.tenant}")
        viewer = Viewer(row.tenant_id, row.user_id)
        tiles, title = await self.tiles_of(row, viewer)
        before = await store.previous_content(self.engine, row.id, due_at) or {}
        earlier = {t["tile_id"]: t.get("figures") or [] for t in before.get("tiles") or []}
        digests = [await self.tile_digest(tenant, tile, earlier.get(tile.id, [])) for tile in tiles]
        anomalies = await self.anomalies(tenant, row)
        link = (
            f"{self.settings.public_url.rstrip('/')}/dashboard"
            if self.settings.public_url
            else None
        )
        return DigestContent(title, due_at, tenant.timezone, digests, anomalies, link)

    async def tiles_of(self, row: DigestRow, viewer: Viewer) -> tuple[list[TileRow], str]:
        """The tiles the digest's user may still see, and the digest's title."""
        if row.dashboard_id is not None:
            board = await pins.visible_dashboard(self.engine, viewer, row.dashboard_id)
            tiles = await pins.tiles_of(self.engine, viewer, row.dashboard_id)
            owner = board.owner if board else row.username
            return tiles, f"{owner}'s dashboard ({row.tenant})"
        tile = await pins.visible_tile(self.engine, viewer, row.tile_id or 0)
        if tile is None:
            raise BichatError(
                f"tile {row.tile_id} is gone or no longer visible", code="unknown_tile"
            )
        return [tile], tile.title

    async def tile_digest(
        self, tenant: TenantRecord, tile: TileRow, before: list[dict[str, Any]]
    ) -> TileDigest:
        view = await self.tiles.view(tenant, compared(tile), refresh=True, keep=False)
        if view.error and view.tile is not tile:  # the comparison did not fit: as pinned
            view = await self.tiles.view(tenant, tile, refresh=True, keep=False)
        if view.error:
            return TileDigest(tile.id, tile.title, error=view.error)
        figures = with_changes_since(figures_of(view.output), before)
        drivers = None
        if self.insights is not None and tile.kind == "metrics":
            drivers = await self.insights.drivers(tenant, tile.query or {})
        return TileDigest(tile.id, tile.title, figures, view.interpretation, drivers)

    async def anomalies(self, tenant: TenantRecord, row: DigestRow) -> list[str] | None:
        if self.insights is None:
            return None
        try:
            return await self.insights.anomalies(tenant, days=7 if row.frequency == "weekly" else 1)
        except BichatError as error:
            log.warning("anomalies for the digest %s: %s", row.id, error.message)
            return None


def compared(tile: TileRow) -> TileRow:
    """A metric tile over a period, asked with the period before it (as pinned otherwise)."""
    query = tile.query or {}
    if tile.kind != "metrics" or not query.get("period") or query.get("compare"):
        return tile
    return replace(tile, query={**query, "compare": "previous"})


async def run_forever(runner: DigestRunner, *, every_s: float) -> None:
    """``bichat serve``'s scheduler: run what is due every ``every_s`` seconds until cancelled;
    a failure is logged and the loop goes on."""
    while True:
        try:
            for outcome in await runner.run_due():
                log.info("digest %s due %s: %s", outcome.digest_id, outcome.due_at, outcome.status)
        except Exception:  # the scheduler must outlive one bad round (a lost connection...)
            log.exception("digest round failed")
        await asyncio.sleep(every_s)


@asynccontextmanager
async def open_runner(settings: Settings) -> AsyncIterator[DigestRunner]:
    """A runner on its own engine and reader pools (``bichat digest run``), closed on exit."""
    async with open_engine(settings) as engine:
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=owner_url(settings))
        try:
            search = ProductSearch(
                executor=executor, engine=engine, embeddings=build_embeddings(settings)
            )
            services = ToolServices(executor, search, SemanticLayer(engine=engine))
            yield DigestRunner(engine, services, settings, insights=LibraryInsights(services))
        finally:
            await executor.close()
