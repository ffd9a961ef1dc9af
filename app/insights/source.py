"""Where insights read their numbers: semantic queries, compiled by the semantic layer and run
by the SQL executor the caller passes in (in practice ``app.tools.sql.SqlExecutor``: guard,
tenant reader role, caps). Rows come back as dicts keyed by the compiled columns.

Insights may also ask for the hidden components of a derived metric (the numerator and the
denominator of a rate: ``costed_revenue`` of margin %, ``viewing_sessions`` of conversion):
they go through the same compiler, from a copy of the model in which they are visible."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from app.semantic.model import SemanticModel
from app.semantic.query import SemanticQuery
from app.semantic.service import MetricsResult, SemanticLayer
from db.tenants import TenantRecord

SERIES_MAX_ROWS = 5000  # a daily series of several years, or a breakdown by a long dimension


class SqlResultLike(Protocol):
    columns: list[str]
    rows: list[list[Any]]


class SqlRunner(Protocol):
    """The SQL executor's ``run`` (``app.tools.sql.SqlExecutor``)."""

    async def run(
        self,
        *,
        tenant_id: Any,
        sql: str,
        max_rows: int | None = None,
        timeout_ms: int | None = None,
        context: str = "cli",
    ) -> Any: ...


def with_components_visible(model: SemanticModel) -> SemanticModel:
    """The same model in which hidden metrics (components of derived ones) may be queried."""
    metrics = {
        name: replace(m, hidden=False) if m.hidden else m for name, m in model.metrics.items()
    }
    remapped = {name: metrics[name] for name in model.metrics}
    return SemanticModel(
        entities=model.entities,
        dimensions=model.dimensions,
        time_dimensions=model.time_dimensions,
        metrics=remapped,
        graph=model.graph,
        path=model.path,
    )


@dataclass
class Rows:
    """A query's rows as dicts, with the SQL that produced them."""

    rows: list[dict[str, Any]]
    sql: str
    result: MetricsResult


class MetricSource:
    """Semantic queries for one shop, run through ``runner``; ``sqls`` lists what ran."""

    def __init__(
        self,
        layer: SemanticLayer,
        runner: SqlRunner,
        tenant: TenantRecord,
        *,
        context: str = "insights",
    ) -> None:
        self.layer, self.runner, self.tenant, self.context = layer, runner, tenant, context
        self.components = SemanticLayer(
            engine=layer.engine, model=with_components_visible(layer.model), clock=layer.clock
        )
        self.components.values = layer.values  # one values index per shop, shared
        self.sqls: list[str] = []

    @property
    def model(self) -> SemanticModel:
        return self.layer.model

    def today(self) -> date:
        """The shop's today (the layer's clock in the shop's time zone)."""
        return self.layer.clock.now().astimezone(ZoneInfo(self.tenant.timezone)).date()

    async def query(self, arguments: dict[str, Any], *, hidden: bool = False) -> Rows:
        layer = self.components if hidden else self.layer
        prepared = await layer.prepare(self.tenant, SemanticQuery.parse(arguments))
        run = await self.runner.run(
            tenant_id=self.tenant.id,
            sql=prepared.compiled.sql,
            max_rows=SERIES_MAX_ROWS,
            context=self.context,
        )
        self.sqls.append(prepared.compiled.sql)
        rows = [dict(zip(run.columns, row, strict=True)) for row in run.rows]
        return Rows(rows, prepared.compiled.sql, prepared.result(run))
