"""Semantic queries for a shop: plan (model, values index, clock) and compile (``prepare``);
the caller runs the SQL through the SQL tool (guard, reader role, result caps) and puts its
rows together with what the layer knows (``MetricsResult``: interpretation, period, comparison,
``partial`` flags). The layer never calls the tools above it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.semantic.compiler import CompiledQuery, compile_plan
from app.semantic.interpretation import interpret
from app.semantic.model import SemanticModel, default_model
from app.semantic.periods import Clock, SystemClock, Window
from app.semantic.plan import Plan, build_plan
from app.semantic.query import SemanticQuery
from app.semantic.values import UnknownValue, ValuesIndex, ValuesStore
from db.tenants import TenantRecord

STALE_AFTER = timedelta(seconds=60)  # an unknown value rebuilds an index older than this


def window_dict(window: Window | None) -> dict[str, Any]:
    if window is None:
        return {"from": None, "to": None, "label": "all time", "partial": False}
    last = (window.end - timedelta(microseconds=1)).date()
    return {
        "from": window.start.date().isoformat() if window.start else None,
        "to": last.isoformat(),
        "label": window.label(),
        "partial": window.partial,
    }


@dataclass(frozen=True)
class Prepared:
    """A planned and compiled query, ready to run, and its interpretation."""

    plan: Plan
    compiled: CompiledQuery
    interpretation: str

    def result(self, run: Any) -> MetricsResult:
        """The result of running ``compiled.sql`` (``run``: the SQL tool's ``SqlResult``)."""
        return MetricsResult(run, self.interpretation, self.plan, self.compiled)


@dataclass
class MetricsResult:
    """What ``run_sql`` returns (sql, columns, rows, ...) plus what the semantic layer knows."""

    run: Any  # what the runner returned (``SqlResult``: the rows a chart or table draws)
    interpretation: str
    plan: Plan
    compiled: CompiledQuery
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return self.plan.period.partial

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan
        comparison = None
        if plan.comparison is not None:
            comparison = {
                "kind": plan.comparison.kind,
                **window_dict(plan.comparison.window),
                "like_for_like": plan.period.partial,
            }
        return {
            **self.run.to_dict(),
            "interpretation": self.interpretation,
            "period": {"name": plan.period.name, **window_dict(plan.period.window)},
            "comparison": comparison,
            "partial": self.partial,
            "metrics": [
                {"name": m.name, "label": m.label, "format": m.format} for m in plan.metrics
            ],
            "column_roles": {c.name: c.role for c in self.compiled.columns},
            "query": plan.query.model_dump(mode="json", exclude_defaults=True),
        }


class SemanticLayer:
    """One per process: the model, each shop's values index and the clock."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        model: SemanticModel | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.model = model or default_model()
        self.clock = clock or SystemClock()
        self.values = ValuesStore(engine, self.model)

    async def index(self, tenant: TenantRecord) -> ValuesIndex:
        return await self.values.index(tenant.id)

    async def plan(self, tenant: TenantRecord, query: SemanticQuery) -> Plan:
        index = await self.index(tenant)
        try:
            return self.plan_with(tenant, query, index)
        except UnknownValue:
            # data loaded by other routes since the last rebuild: rebuild once and retry
            stamp = index.refreshed_at
            if stamp is not None and datetime.now(UTC) - stamp < STALE_AFTER:
                raise
            return self.plan_with(tenant, query, await self.values.refresh(tenant.id))

    def plan_with(self, tenant: TenantRecord, query: SemanticQuery, index: ValuesIndex) -> Plan:
        return build_plan(
            query,
            self.model,
            index,
            timezone=tenant.timezone,
            week_start=tenant.week_start,
            now=self.clock.now(),
        )

    def compile(self, plan: Plan) -> CompiledQuery:
        return compile_plan(self.model, plan)

    async def prepare(self, tenant: TenantRecord, query: SemanticQuery) -> Prepared:
        plan = await self.plan(tenant, query)
        return Prepared(plan, self.compile(plan), interpret(self.model, plan))
