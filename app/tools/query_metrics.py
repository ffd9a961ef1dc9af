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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic_core import to_jsonable_python

from app.errors import BichatError
from app.semantic.model import SemanticModel, default_model
from app.semantic.query import MAX_ROWS, Compare, Grain, Operator, SemanticQuery
from app.semantic.service import MetricsResult, SemanticLayer
from app.tools import run_sql
from app.tools.sql import SqlExecutor
from app.tools.tool import Facts, Output, Shown, Tool, ToolContext
from db.tenants import TenantRecord

NAME = "query_metrics"
PERIOD_HINT = (
    "today, yesterday, this-week, last-week, this-month, last-month, this-quarter, "
    "last-quarter, this-year, last-year, ytd, mtd, last-N-days, 2025, 2025-11, november, "
    "q3-2025 ...; omitted: all time"
)


def description(model: SemanticModel) -> str:
    """What the model reads about the tool (the metrics themselves are in the prompt and the
    schema's enums, not repeated here)."""
    return (
        "Get the shop's metrics (the Metrics list of the prompt) by dimensions, filtered, over a "
        "period, optionally compared with the previous period or a year earlier. The SQL is "
        "generated for you, right about joins, time zones and partial periods. Returns JSON: "
        "columns, rows, interpretation (state it to the owner), sql, period, comparison, "
        "partial. Prefer it to run_sql when its metrics and dimensions fit the question."
    )


def names_literal(names: list[str]) -> Any:
    return Literal[tuple(names)]


def filter_model(dimension: Any) -> type[BaseModel]:
    return create_model(
        "MetricFilter",
        __config__=ConfigDict(extra="forbid"),
        dimension=(dimension, Field(description="The dimension to filter on.")),
        op=(
            Operator,
            Field(
                default="in",
                description="in / not_in with values (for a time dimension: periods); >=, >, "
                "<=, < with one date YYYY-MM-DD (time dimensions only).",
            ),
        ),
        values=(
            list[str],
            Field(min_length=1, description="Values as the owner says them: labels, codes, SKUs."),
        ),
    )


def build_input_model(model: SemanticModel) -> type[BaseModel]:
    """The tool's arguments, with the model's metric and dimension names as enums."""
    metric: Any = names_literal([m.name for m in model.public_metrics])
    dimension: Any = names_literal(model.dimension_names)
    fields: dict[str, Any] = {
        "metrics": (list[metric], Field(min_length=1, max_length=8, description="What to count.")),
        "by": (
            list[dimension],
            Field(default_factory=list, max_length=4, description="Group by these dimensions."),
        ),
        "filters": (list[filter_model(dimension)], Field(default_factory=list, max_length=12)),  # type: ignore[misc]
        "period": (
            str | None,
            Field(default=None, description=PERIOD_HINT),
        ),
        "from_date": (
            date | None,
            Field(default=None, description="First day, instead of period."),
        ),
        "to_date": (date | None, Field(default=None, description="Last day (inclusive).")),
        "grain": (
            Grain | None,
            Field(default=None, description="Group by time: the metrics' own date at this grain."),
        ),
        "compare": (
            Compare | None,
            Field(default=None, description="previous: the period before; year: a year earlier."),
        ),
        "top": (int | None, Field(default=None, ge=1, le=MAX_ROWS, description="Largest N rows.")),
        "bottom": (int | None, Field(default=None, ge=1, le=MAX_ROWS, description="Smallest N.")),
        "order_by": (str | None, Field(default=None, description="A metric or dimension name.")),
    }
    # no extra="forbid" at the top: the agent injects its runtime next to the arguments
    # (unknown arguments are refused by SemanticQuery all the same)
    return create_model("QueryMetricsInput", **fields)


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
    """Plan, compile and run one semantic query for the tenant through the SQL tool."""
    query = to_query(arguments)
    return await layer.run(tenant, query, executor, context=context, requester=requester)


SUMMARY_KEYS = ("sql", "interpretation", "partial", "period", "query")  # beside run_sql's


class QueryMetrics(Tool[BaseModel]):
    """The registry's record: its input model and description come from the semantic model."""

    name = NAME
    runs_sql = replays = True

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
