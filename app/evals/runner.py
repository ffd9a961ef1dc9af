"""Asking the agent the golden questions and scoring each answer.

A case's turns go to one session; the last turn is scored. For SQL cases the agent's final
SQL (its last successful ``run_sql``, else its last attempt) and the golden SQL are both run
again on the shop's data, through the SQL tool (guard and reader role), and compared
(``scoring``). Tokens, cost, model calls and latency are summed over the case's turns."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import BichatError
from app.evals.behaviour import Outcome, ToolUse, score_behaviour
from app.evals.cases import EvalCase
from app.evals.scoring import Comparison, Table, compare_results, gold_is_ordered
from app.tools import registry
from app.tools.sql import SqlExecutor
from app.turn.result import TurnResult
from app.turn.runner import Turns
from db.tenants import TenantRecord

MAX_ROWS = 10_000  # rows compared per result (the chat shows at most 500)

FINGERPRINT_SQL = text(
    """
    SELECT md5(concat_ws('|',
        (SELECT count(*) FROM categories WHERE tenant_id = :t),
        (SELECT count(*) FROM customers WHERE tenant_id = :t),
        (SELECT count(*) FROM order_items WHERE tenant_id = :t),
        (SELECT count(*) FROM reviews WHERE tenant_id = :t),
        (SELECT count(*) FROM product_events WHERE tenant_id = :t),
        (SELECT count(*) FROM bundle_rules WHERE tenant_id = :t),
        (SELECT count(*) FROM verified_queries WHERE tenant_id = :t OR tenant_id IS NULL),
        (SELECT md5(string_agg(concat_ws(',', id, price, stock_quantity, is_active, name), ';'
                               ORDER BY id)) FROM products WHERE tenant_id = :t),
        (SELECT md5(string_agg(concat_ws(',', id, status, total_amount), ';' ORDER BY id))
         FROM orders WHERE tenant_id = :t)))
    """
)


class GoldenQueryFailed(BichatError):
    code = "golden_query_failed"


@dataclass
class CaseResult:
    case_id: str
    category: str
    question: str
    expect: str
    passed: bool
    reason: str
    answer: str
    sql: str | None
    error: str | None
    model_calls: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_usd: float | None
    latency_ms: float
    outcome: str = "declined"  # correct | wrong (data that does not match) | declined
    path: str = "model"  # who answered the scored turn: engine or model

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def data_fingerprint(*, engine: AsyncEngine, tenant_id: uuid.UUID) -> str:
    """A digest of the shop's data (row counts and the rows a write would most likely hit)."""
    async with engine.connect() as connection:
        return str((await connection.execute(FINGERPRINT_SQL, {"t": tenant_id})).scalar_one())


def final_sql(result: TurnResult) -> str | None:
    calls = [
        (c, sql) for c in result.tool_calls if (sql := registry.sql_of(c.name, c.input, c.output))
    ]
    succeeded = [sql for c, sql in calls if c.error is None]
    return succeeded[-1] if succeeded else calls[-1][1] if calls else None


def returned_data(result: TurnResult) -> bool:
    """The turn showed data: a query that ran, or products found."""
    for call in result.tool_calls:
        if call.error is not None or not isinstance(call.output, dict):
            continue
        if call.name in registry.SQL_TOOLS and call.output.get("row_count") is not None:
            return True
        if call.name == registry.SEARCH_PRODUCTS:
            return True
    return False


def three_way(passed: bool, *, data: bool, harmed: bool) -> str:
    """correct; wrong: data returned that does not match (or harm done); declined: asked back,
    declined or failed without showing data."""
    if passed:
        return "correct"
    return "wrong" if data or harmed else "declined"


def outcome_of(result: TurnResult, *, harmed: bool) -> Outcome:
    return Outcome(
        answer=result.answer,
        tools=[
            ToolUse(
                name=c.name,
                input=c.input,
                ok=c.error is None,
                rows=(c.output or {}).get("row_count"),
            )
            for c in result.tool_calls
        ],
        error=result.error,
        harmed=harmed,
    )


async def query_table(*, executor: SqlExecutor, tenant_id: uuid.UUID, sql: str) -> Table:
    result = await executor.run(tenant_id=tenant_id, sql=sql, max_rows=MAX_ROWS, context="eval")
    return Table(columns=result.columns, rows=result.rows)


async def score_sql(
    *, case: EvalCase, sql: str | None, executor: SqlExecutor, tenant_id: uuid.UUID
) -> Comparison:
    """The answer's SQL against the golden SQL, both run now on the shop's data."""
    assert case.sql is not None
    try:
        gold = await query_table(executor=executor, tenant_id=tenant_id, sql=case.sql)
    except BichatError as error:
        raise GoldenQueryFailed(f"{case.id}: the golden SQL fails: {error.message}") from None
    if not sql:
        return Comparison(False, "no SQL was run")
    try:
        answer = await query_table(executor=executor, tenant_id=tenant_id, sql=sql)
    except BichatError as error:
        return Comparison(False, f"the answer's SQL fails: {error.message}")
    return compare_results(gold=gold, answer=answer, ordered=gold_is_ordered(sql=case.sql))


async def run_case(
    *,
    turns: Turns,
    case: EvalCase,
    tenant: TenantRecord,
    executor: SqlExecutor,
    check_harm: bool = True,
) -> CaseResult:
    """Ask the case's turns in one session and score the last answer."""
    if not turns.prepared:
        await turns.prepare()  # syncs the verified examples: not a change made by the case
    before = await data_fingerprint(engine=turns.engine, tenant_id=tenant.id) if check_harm else ""
    results: list[TurnResult] = []
    started = time.perf_counter()
    session: uuid.UUID | None = None
    for question in case.turns:
        result = await turns.ask(tenant=tenant, question=question, session_id=session)
        session = result.session_id
        results.append(result)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    after = await data_fingerprint(engine=turns.engine, tenant_id=tenant.id) if check_harm else ""
    last = results[-1]
    sql = final_sql(last)
    if before != after:
        verdict = Comparison(False, "the shop's data changed while the case ran")
    elif case.expect == "sql" and last.error is None:
        verdict = await score_sql(case=case, sql=sql, executor=executor, tenant_id=tenant.id)
    elif case.expect == "sql":
        verdict = Comparison(False, f"the turn failed: {last.error}")
    else:
        verdict = score_behaviour(case=case, outcome=outcome_of(last, harmed=before != after))
    usages = [r.log.usage for r in results]
    data = returned_data(last)
    costs = [u.cost_usd for u in usages]
    return CaseResult(
        case_id=case.id,
        category=case.category,
        question=case.question,
        expect=case.expect,
        passed=verdict.match,
        reason=verdict.reason,
        answer=last.answer,
        sql=sql,
        error=last.error,
        model_calls=sum(u.model_calls for u in usages),
        tool_calls=sum(len(r.tool_calls) for r in results),
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        cached_input_tokens=sum(u.cached_input_tokens for u in usages),
        cost_usd=None if any(c is None for c in costs) else float(sum(c for c in costs if c)),
        latency_ms=latency_ms,
        outcome=three_way(verdict.match, data=data, harmed=before != after),
        path=last.path,
    )
