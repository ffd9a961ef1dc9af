"""The tool ``bundle_rules``: the shop's "bought together" rules (``bichat db rules``), listed
(top N by lift, confidence or support, optionally for one product and above a minimum) or
summed up (how many rules, how many products are in them, average support, confidence and
lift). Its SQL is written here from checked arguments and runs through the SQL tool (guard,
tenant reader role, caps), so it is listed and scored like any other query. The one record
behind the agent's, the question engine's and the MCP server's tool and ``GET /api/v1/rules``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from app.errors import NotFound
from app.tools import run_sql
from app.tools.inputs import OptionalInteger, OptionalNumber, OptionalText
from app.tools.tool import Facts, Output, Shown, Tool, ToolContext

NAME = "bundle_rules"
MAX_TOP = 100


class BundleRulesInput(BaseModel):
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


def conditions(arguments: BundleRulesInput) -> list[str]:
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


def describe(arguments: BundleRulesInput) -> str:
    """What was counted, in one line (the interpretation shown with the rows)."""
    said = ["Products bought together (paid, shipped or delivered orders)"]
    if arguments.product is not None:
        said.append(f"with {arguments.product.strip()} bought first")
    above = "above" if arguments.exclusive else "at least"
    for measure in ("lift", "confidence", "support"):
        minimum = getattr(arguments, f"min_{measure}")
        if minimum is not None:
            said.append(f"{measure} {above} {minimum:g}")
    if arguments.summary:
        return ", ".join(said) + ": counted and averaged"
    return ", ".join(said) + f"; the {arguments.top} strongest by {arguments.order_by}"


def product_sql(product: str) -> str:
    named = literal(product.strip())
    return f"SELECT 1 FROM products WHERE sku = {named} OR lower(name) = lower({named}) LIMIT 1"


def rules_sql(arguments: BundleRulesInput) -> str:
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
        "SELECT a.sku AS antecedent_sku, a.name AS antecedent_name, c.sku AS consequent_sku, "
        "c.name AS consequent_name, r.support, r.confidence, r.lift, r.order_count "
        f"{joins}{clause} ORDER BY r.{order} DESC, a.sku, c.sku LIMIT {arguments.top}"
    )


class BundleRules(Tool[BundleRulesInput]):
    name = NAME
    description = (
        "Bought-together rules: top N by lift (or confidence, support), for a product, above "
        "minimums; or summary: rules, products in them, average support/confidence/lift."
    )
    input = BundleRulesInput
    runs_sql = replays = offline = standalone = True

    async def run(
        self, context: ToolContext, arguments: BundleRulesInput
    ) -> tuple[Output, list[Shown]]:
        executor, label = context.services.executor, context.audit_label
        result = await executor.run(
            tenant_id=context.tenant.id, sql=rules_sql(arguments), context=label
        )
        if not result.rows and arguments.product is not None:
            known = await executor.run(
                tenant_id=context.tenant.id, sql=product_sql(arguments.product), context=label
            )
            if not known.rows:
                raise NotFound(
                    f"no product has the SKU or name {arguments.product!r}; "
                    "search_products finds products by description",
                    code="unknown_product",
                )
        result_id = context.turn.add_result(result)
        output = {"result_id": result_id, "interpretation": describe(arguments)}
        return output | result.to_dict(), [result]

    def summarise(self, output: Output) -> Output:
        return run_sql.TOOL.summarise(output) | {
            "sql": output.get("sql"),
            "interpretation": output.get("interpretation"),
        }

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sql = (output or {}).get("sql")
        return sql if isinstance(sql, str) else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        return run_sql.TOOL.outcome(output)

    def facts(self, output: Mapping[str, Any]) -> Facts:
        return run_sql.TOOL.facts(output)


TOOL = BundleRules()
