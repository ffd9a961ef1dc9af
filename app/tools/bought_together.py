"""The tool ``bought_together``: the shop's "bought together" rules (``bichat db rules``), listed
(top N by lift, confidence or support, optionally for one product and above a minimum) or
summed up (how many rules, how many products are in them, average support, confidence and
lift). Its SQL is written here from checked arguments and runs through the SQL tool (guard,
tenant reader role, caps), so it is listed and scored like any other query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from app.tools import run_sql
from app.tools.tool import (
    Facts,
    OptionalInteger,
    OptionalNumber,
    OptionalText,
    Output,
    Shown,
    Tool,
    ToolContext,
)

NAME = "bought_together"
MAX_TOP = 100


class BoughtTogetherInput(BaseModel):
    product: OptionalText = Field(None, description="SKU or exact name.")
    min_confidence: OptionalNumber = Field(None, ge=0, le=1)
    min_lift: OptionalNumber = Field(None, ge=0)
    min_support: OptionalNumber = Field(None, ge=0, le=1)
    exclusive: bool = Field(default=False, description="Minimums exclude their value.")
    order_by: Literal["lift", "confidence", "support"] = "lift"
    top: int = Field(default=10, ge=1, le=MAX_TOP)
    summary: bool = Field(default=False, description="One row of counts and averages.")
    decimals: OptionalInteger = Field(None, ge=0, le=6)


def literal(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="postgres")


def conditions(arguments: BoughtTogetherInput) -> list[str]:
    found = []
    if arguments.product is not None:
        product = literal(arguments.product.strip())
        found.append(f"(a.sku = {product} OR lower(a.name) = lower({product}))")
    for measure in ("confidence", "lift", "support"):
        minimum = getattr(arguments, f"min_{measure}")
        if minimum is not None:
            operator = ">" if arguments.exclusive else ">="
            found.append(f"r.{measure} {operator} {float(minimum)!r}")
    return found


def rules_sql(arguments: BoughtTogetherInput) -> str:
    where = conditions(arguments)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    joins = (
        "FROM bundle_rules r JOIN products a ON a.id = r.antecedent_product_id "
        "JOIN products c ON c.id = r.consequent_product_id"
    )
    if arguments.summary:
        places = 3 if arguments.decimals is None else arguments.decimals
        averages = ", ".join(
            f"round(avg(r.{m})::numeric, {places}) AS average_{m}"
            for m in ("support", "confidence", "lift")
        )
        return (
            "SELECT count(*) AS rules, (SELECT count(*) FROM (SELECT r.antecedent_product_id "
            f"{joins}{clause} UNION SELECT r.consequent_product_id {joins}{clause}) ids) "
            f"AS products, {averages} {joins}{clause}"
        )
    order = arguments.order_by
    return (
        "SELECT a.sku AS antecedent_sku, a.name AS antecedent, c.sku AS consequent_sku, "
        "c.name AS consequent, r.support, r.confidence, r.lift, r.order_count "
        f"{joins}{clause} ORDER BY r.{order} DESC, a.sku, c.sku LIMIT {arguments.top}"
    )


class BoughtTogether(Tool[BoughtTogetherInput]):
    name = NAME
    description = (
        "Bought-together rules: top N by lift (or confidence, support), for a product, above "
        "minimums; or summary: rules, products in them, average support/confidence/lift."
    )
    input = BoughtTogetherInput
    runs_sql = replays = offline = True

    async def run(
        self, context: ToolContext, arguments: BoughtTogetherInput
    ) -> tuple[Output, list[Shown]]:
        result = await context.services.executor.run(
            tenant_id=context.tenant.id, sql=rules_sql(arguments), context=context.audit_label
        )
        result_id = context.turn.add_result(result)
        return {"result_id": result_id, **result.to_dict()}, [result]

    def summarise(self, output: Output) -> Output:
        return run_sql.TOOL.summarise(output) | {"sql": output.get("sql")}

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sql = (output or {}).get("sql")
        return sql if isinstance(sql, str) else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        return run_sql.TOOL.outcome(output)

    def facts(self, output: Mapping[str, Any]) -> Facts:
        return run_sql.TOOL.facts(output)


TOOL = BoughtTogether()
