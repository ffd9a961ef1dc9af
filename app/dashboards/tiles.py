"""Running a tile: its SQL (the semantic layer compiles a ``metrics`` tile's query anew, for
today's periods; an ``sql`` tile has its verified SQL) goes through the guard at **every**
view, cached result or not; the result is read again as the shop's reader role when the cache
is older than ``BICHAT_TILE_CACHE_TTL_S``, ran other SQL, or a refresh is asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import BichatError
from app.questions.charts import chart_spec
from app.semantic.service import Prepared
from app.sqlguard import UnsafeSQLError
from app.store import pins
from app.store.pins import TileRow
from app.tools.charts import Chart, ChartError, ChartSpec, build_figure
from app.tools.query_metrics import to_query
from app.tools.tool import ToolServices
from db.tenants import TenantRecord

TILE_MAX_ROWS = 500


@dataclass
class TileView:
    """A tile as shown: its rows (fresh or cached), chart, when it ran, or why it did not."""

    tile: TileRow
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    truncated: bool = False
    interpretation: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    chart: Chart | None = None
    refreshed_at: datetime | None = None
    cached: bool = False
    error: str | None = None


class Tiles:
    """Runs tiles for a shop's users (one per process: the executor and semantic layer)."""

    def __init__(self, engine: AsyncEngine, services: ToolServices, *, ttl_s: float) -> None:
        self.engine, self.services, self.ttl = engine, services, timedelta(seconds=ttl_s)

    async def checked_sql(self, tenant: TenantRecord, tile: TileRow) -> tuple[str, Prepared | None]:
        """The SQL the tile runs today, passed by the guard (``UnsafeSQLError`` otherwise)."""
        prepared = None
        if tile.kind == "metrics":
            if self.services.semantic is None:
                raise BichatError("the semantic layer is not available here", code="unavailable")
            prepared = await self.services.semantic.prepare(tenant, to_query(tile.query or {}))
            sql = prepared.compiled.sql
        else:
            sql = tile.sql or ""
        self.services.executor.checked(sql)  # the guard, at every view
        return sql, prepared

    def fresh(self, tile: TileRow, sql: str) -> bool:
        if tile.result is None or tile.refreshed_at is None or tile.result_sql != sql:
            return False
        return datetime.now(UTC) - tile.refreshed_at < self.ttl

    async def view(
        self, tenant: TenantRecord, tile: TileRow, *, refresh: bool = False, keep: bool = True
    ) -> TileView:
        """The tile now: from the cache when fresh (unless ``refresh``), else run (and kept
        as the cache unless ``keep`` is false: a digest's variant of the tile)."""
        try:
            sql, prepared = await self.checked_sql(tenant, tile)
            if not refresh and self.fresh(tile, sql):
                return shown(tile, tile.result or {}, tile.refreshed_at, cached=True)
            output = await self.run(tenant, tile, sql, prepared)
        except UnsafeSQLError as error:
            return TileView(tile, error=f"refused by the SQL guard: {error.message}")
        except BichatError as error:
            return TileView(tile, error=error.message)
        if not keep:
            return shown(tile, output, datetime.now(UTC))
        stamp = await pins.cache_result(self.engine, tenant.id, tile.id, sql=sql, result=output)
        return shown(tile, output, stamp)

    async def run(
        self, tenant: TenantRecord, tile: TileRow, sql: str, prepared: Prepared | None
    ) -> dict[str, Any]:
        run = await self.services.executor.run(
            tenant_id=tenant.id,
            sql=sql,
            max_rows=TILE_MAX_ROWS,
            context=f"dashboard:tile-{tile.id}",
        )
        output = prepared.result(run).to_dict() if prepared else run.to_dict()
        return dict(output)


def shown(
    tile: TileRow, output: dict[str, Any], stamp: datetime | None, *, cached: bool = False
) -> TileView:
    view = TileView(
        tile,
        columns=list(output.get("columns") or []),
        rows=list(output.get("rows") or []),
        truncated=bool(output.get("truncated")),
        interpretation=output.get("interpretation"),
        output=output,
        refreshed_at=stamp,
        cached=cached,
    )
    view.chart = chart_for(tile, output)
    return view


def chart_for(tile: TileRow, output: dict[str, Any]) -> Chart | None:
    """The pinned chart over the rows, or the one the question engine would draw; None when
    no chart fits (the table shows the rows)."""
    spec = tile.chart or chart_spec({**output, "result_id": None}, "auto", tile.title)
    if not spec:
        return None
    try:
        checked = ChartSpec.model_validate({**spec, "result_id": None})
        figure = build_figure(checked, output.get("columns") or [], output.get("rows") or [])
    except (ChartError, ValueError):
        return None
    return Chart(id=f"tile-{tile.id}", spec=checked, figure=figure)
