"""The agent's tool ``query_metrics``: a semantic query over the shop's metrics.

Its input schema is generated from the semantic model (enums of metric and dimension names),
so a metric added to ``prompts/semantic.yaml`` is offered at once. The compiled SQL runs
through the SQL tool (``SqlExecutor.run``: guard, tenant reader role, result caps), and the
result is what ``run_sql`` returns plus the interpretation, the period, the comparison and
the ``partial`` flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic_core import to_jsonable_python

from app.errors import BichatError
from app.semantic.model import SemanticModel, default_model
from app.semantic.query import MAX_ROWS, Compare, Grain, Operator, SemanticQuery
from app.semantic.service import MetricsResult, SemanticLayer
from app.tools import run_sql
from app.tools.inputs import optional
from app.tools.sql import SqlExecutor
from app.tools.tool import Facts, Output, Shown, Tool, ToolContext
from db.tenants import TenantRecord

NAME = "query_metrics"
PERIOD_HINT = (
    "today, yesterday, this-week, last-week, this-month, last-month (calendar), this-quarter, "
    "last-quarter, this-year, last-year, ytd, mtd, last-N-days|weeks|months (rolling, to now), "
    "previous-N-days (complete days), 2025, 2025-11, november, q3-2025 ...; omitted: all time"
)


def description(model: SemanticModel) -> str:
    """What the model reads about the tool (the metrics themselves are in the prompt and the
    schema's enums, not repeated here)."""
    return (
        "The shop's metrics (the prompt's Metrics) by dimensions, filtered, over a period, "
        "optionally compared with the period before or a year earlier; the SQL is generated, "
        "right about joins, time zones and partial periods. Returns columns, rows, "
        "interpretation (state it), sql, period, comparison, partial. Prefer it to run_sql "
        "when its metrics and dimensions fit."
    )


def names_literal(names: list[str]) -> Any:
    return Literal[tuple(names)]


FILTER_FIELDS: dict[str, Any] = {
    "dimension": (str, Field(description="A dimension name.")),
    "op": (
        Operator,
        Field(default="in", description="in, not_in; >=, >, <=, < with a date (time only)."),
    ),
    "values": (list[str], Field(min_length=1, description="Labels, codes, SKUs or periods.")),
}


def build_input_model(model: SemanticModel) -> type[BaseModel]:
    """The tool's arguments, with the model's metric and dimension names as enums (once)."""
    metric: Any = names_literal([m.name for m in model.public_metrics])
    dimension: Any = names_literal(model.dimension_names)
    metric_filter = create_model(
        "MetricFilter", __config__=ConfigDict(extra="forbid"), **FILTER_FIELDS
    )
    integer = {"type": "integer"}
    fields: dict[str, Any] = {
        "metrics": (list[metric], Field(min_length=1, max_length=8)),
        "by": (list[dimension], Field(default_factory=list, max_length=4)),
        "filters": (list[metric_filter], Field(default_factory=list, max_length=12)),
        "period": optional(str, {"type": "string"}, PERIOD_HINT),
        "from_date": optional(date, {"type": "string", "format": "date"}, "Instead of period."),
        "to_date": optional(date, {"type": "string", "format": "date"}, "Inclusive."),
        "grain": optional(Grain, {"enum": list(get_args(Grain))}, "Group by time."),
        "compare": optional(Compare, {"enum": list(get_args(Compare))}, "year: a year earlier."),
        "top": optional(int, integer, "Largest N rows.", ge=1, le=MAX_ROWS),
        "bottom": optional(int, integer, "Smallest N rows.", ge=1, le=MAX_ROWS),
        "order_by": optional(str, {"type": "string"}, "A metric or dimension."),
        "share": (bool, Field(default=False, description="Add each row's % of the total.")),
        "decimals": optional(int, integer, "Round to N.", ge=0, le=6),
    }
    # no extra="forbid" at the top: the agent injects its runtime next to the arguments
    # (unknown arguments are refused by SemanticQuery all the same)
    config = ConfigDict(json_schema_extra=without_null_defaults)
    return create_model("QueryMetricsInput", __config__=config, **fields)


def without_null_defaults(schema: dict[str, Any]) -> None:
    """``"default": null`` says nothing a model needs (an argument left out is not set)."""
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict) and "default" in prop and prop["default"] is None:
            del prop["default"]


def to_query(arguments: dict[str, Any] | BaseModel) -> SemanticQuery:
    """The tool's arguments (plain or validated models, as LangChain passes them) as a query."""
    return SemanticQuery.parse(to_jsonable_python(arguments))


async def run_query_metrics(
    layer: SemanticLayer,
    executor: SqlExecutor,
    tenant: TenantRecord,
    arguments: dict[str, Any] | BaseModel,
    *,
    context: str = "agent",
    requester: str | None = None,
) -> MetricsResult:
    """Plan and compile one semantic query for the tenant (the semantic layer), then run its
    SQL through the SQL tool (guard, reader role, caps)."""
    prepared = await layer.prepare(tenant, to_query(arguments))
    sql = prepared.compiled.sql
    run = await executor.run(tenant_id=tenant.id, sql=sql, context=context, requester=requester)
    return prepared.result(run)


SUMMARY_KEYS = ("sql", "interpretation", "partial", "period", "query", "metrics", "column_roles")


class QueryMetrics(Tool[BaseModel]):
    """The registry's record: its input model and description come from the semantic model."""

    name = NAME
    runs_sql = replays = standalone = offline = True

    def __init__(self, model: SemanticModel) -> None:
        self.description = description(model)
        self.input = build_input_model(model)

    async def run(self, context: ToolContext, arguments: BaseModel) -> tuple[Output, list[Shown]]:
        services = context.services
        if services.semantic is None:
            raise BichatError("the semantic layer is not available here", code="unavailable")
        result = await run_query_metrics(
            services.semantic,
            services.executor,
            context.tenant,
            arguments,
            context=context.audit_label,
            requester=context.requester,
        )
        result_id = context.turn.add_result(result.run)
        return {"result_id": result_id, **result.to_dict()}, [result.run]

    def summarise(self, output: Output) -> Output:
        """What run_sql keeps of a result, and what the semantic layer adds."""
        return run_sql.TOOL.summarise(output) | {key: output.get(key) for key in SUMMARY_KEYS}

    def sql_ran(self, arguments: Mapping[str, Any], output: Mapping[str, Any] | None) -> str | None:
        sql = (output or {}).get("sql")  # the SQL the semantic layer compiled
        return sql if isinstance(sql, str) else None

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        rows = run_sql.TOOL.outcome(output)
        if rows is None or not output.get("interpretation"):
            return rows
        return f"{output['interpretation']}\n{rows}"  # its SQL is shown as the step's input

    def facts(self, output: Mapping[str, Any]) -> Facts:
        found = run_sql.TOOL.facts(output)
        meaning = [str(output["interpretation"])] if output.get("interpretation") else []
        return Facts(found.heading, meaning + found.lines)


TOOL = QueryMetrics(default_model())
