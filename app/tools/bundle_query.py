"""Bundle rules ("bought together", computed by ``bichat db rules``) read through the SQL tool
(``SqlExecutor``: guard, tenant reader role, caps), filtered by product and by minimum lift
and confidence, strongest first: what ``GET /api/v1/rules`` and the MCP tool of the same
name return, with the SQL that ran and one line saying what it means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from app.errors import NotFound
from app.tools.sql import SqlExecutor, SqlResult
from app.tools.sql_values import number_literal, text_literal
from db.tenants import TenantRecord

MAX_RULES = 200


class RuleFilters(BaseModel):
    """Which rules: those whose first product (the antecedent) is ``product``, at least this
    strong, the ``limit`` strongest by lift."""

    product: str | None = Field(
        default=None, description="SKU of the product bought first (the antecedent)."
    )
    min_lift: float | None = Field(
        default=None, ge=0, le=1_000_000, description="At least this lift (1: no association)."
    )
    min_confidence: float | None = Field(
        default=None, ge=0, le=1, description="At least this confidence (0-1)."
    )
    limit: int = Field(default=20, ge=1, le=MAX_RULES)

    def describe(self) -> str:
        parts = ["Products bought together"]
        if self.product is not None:
            parts.append(f"with {self.product}")
        if self.min_lift is not None:
            parts.append(f"lift ≥ {self.min_lift:g}")
        if self.min_confidence is not None:
            parts.append(f"confidence ≥ {self.min_confidence:g}")
        return (
            ", ".join(parts)
            + f"; the {self.limit} strongest by lift (paid, shipped or delivered orders)"
        )


def rules_sql(filters: RuleFilters) -> str:
    conditions = ["true"]
    if filters.product is not None:
        conditions.append(f"a.sku = {text_literal(filters.product)}")
    if filters.min_lift is not None:
        conditions.append(f"r.lift >= {number_literal(filters.min_lift)}")
    if filters.min_confidence is not None:
        conditions.append(f"r.confidence >= {number_literal(filters.min_confidence)}")
    return (
        "SELECT a.sku AS antecedent_sku, a.name AS antecedent_name,\n"
        "       c.sku AS consequent_sku, c.name AS consequent_name,\n"
        "       round(r.support::numeric, 5) AS support,\n"
        "       round(r.confidence::numeric, 4) AS confidence,\n"
        "       round(r.lift::numeric, 3) AS lift, r.order_count\n"
        "FROM bundle_rules r\n"
        "JOIN products a ON a.id = r.antecedent_product_id\n"
        "JOIN products c ON c.id = r.consequent_product_id\n"
        f"WHERE {' AND '.join(conditions)}\n"
        "ORDER BY r.lift DESC, r.confidence DESC, a.sku, c.sku\n"
        f"LIMIT {int(filters.limit)}"
    )


@dataclass
class RulesResult:
    filters: RuleFilters
    result: SqlResult

    def to_dict(self) -> dict[str, Any]:
        rows = [dict(zip(self.result.columns, row, strict=True)) for row in self.result.rows]
        return {
            "interpretation": self.filters.describe(),
            "sql": self.result.sql,
            "rules": rows,
            "row_count": self.result.row_count,
            "elapsed_ms": self.result.elapsed_ms,
        }


async def find_rules(
    executor: SqlExecutor, tenant: TenantRecord, filters: RuleFilters, *, context: str
) -> RulesResult:
    """The rules; ``NotFound`` (``unknown_product``) when no product has that SKU."""
    result = await executor.run(
        tenant_id=tenant.id, sql=rules_sql(filters), max_rows=filters.limit, context=context
    )
    if not result.rows and filters.product is not None:
        known = await executor.run(
            tenant_id=tenant.id,
            sql=f"SELECT 1 FROM products WHERE sku = {text_literal(filters.product)}",
            max_rows=1,
            context=context,
        )
        if not known.rows:
            raise NotFound(f"no product with SKU {filters.product!r}", code="unknown_product")
    return RulesResult(filters, result)
