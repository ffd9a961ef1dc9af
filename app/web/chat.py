"""The Chainlit chat: login against app_users, starters from verified questions, answers
streamed token by token, each tool call as a step, results as a table with a CSV download,
charts, follow-up suggestions, an offline-mode indicator, history from our own store.

Mounted into the FastAPI app by ``app.web.server`` (``mount_chainlit`` loads this file).
"""

from __future__ import annotations

import asyncio
from typing import Any

import chainlit as cl
from chainlit.types import ThreadDict
from sqlalchemy import text

from app.agent.charts import Chart, ChartSpec, build_figure
from app.agent.chat import TurnEvent, TurnResult
from app.agent.tools import SQL_RESULT_TOOLS
from app.agent.turn import ToolCallRecord
from app.errors import BichatError
from app.tools.sql import SqlResult
from app.web.data_layer import LIVE_ANSWERS, StoreDataLayer
from app.web.elements import chart_element, csv_element, table_element
from app.web.state import get_state
from db.tenants import TenantRecord, get_tenant
from db.users import authenticate

STARTERS = 4
REDRAW_DELAY_S = 0.5
FOLLOW_UPS = 3
OFFLINE_MODE = cl.Mode(
    id="model",
    name="Model",
    options=[
        cl.ModeOption(
            id="offline",
            name="Offline: verified questions only",
            description="No language model is configured; answers come from verified queries.",
            icon="wifi-off",
            default=True,
        )
    ],
)


@cl.data_layer
def data_layer() -> StoreDataLayer:
    return StoreDataLayer()


@cl.password_auth_callback
async def login(username: str, password: str) -> cl.User | None:
    async with get_state().runtime.engine.connect() as connection:
        user = await authenticate(connection, username=username, password=password)
    if user is None:
        return None
    return cl.User(
        identifier=user.username,
        metadata={"user_id": user.id, "role": user.role, "tenant": user.tenant},
    )


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    engine = get_state().runtime.engine
    async with engine.connect() as connection:
        questions = await connection.scalars(
            text(
                "SELECT question FROM verified_queries WHERE is_active AND tenant_id IS NULL "
                "ORDER BY id LIMIT :n"
            ),
            {"n": STARTERS},
        )
        return [cl.Starter(label=q, message=q) for q in questions]


async def show_mode() -> None:
    if get_state().runtime.agent.offline:
        await cl.context.emitter.set_modes([OFFLINE_MODE])


@cl.on_chat_start
async def start() -> None:
    await show_mode()


@cl.on_chat_resume
async def resume(thread: ThreadDict) -> None:
    """The agent reads the thread's earlier turns from the store; tables and charts of the
    stored queries are drawn again (through the guard, as the user's tenant)."""
    await show_mode()
    # the browser draws the resumed thread when this handler returns; elements sent before
    # that are dropped, so the tables are sent just after
    asyncio.get_running_loop().call_later(
        REDRAW_DELAY_S, lambda: asyncio.ensure_future(redraw_results(thread))
    )


async def current_tenant() -> tuple[TenantRecord, int]:
    user = cl.context.session.user
    if user is None:
        raise PermissionError("not logged in")
    async with get_state().runtime.engine.connect() as connection:
        tenant = await get_tenant(connection, str(user.metadata["tenant"]))
    return tenant, int(user.metadata["user_id"])


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await answer(message.content)


@cl.action_callback("follow_up")
async def follow_up(action: cl.Action) -> None:
    question = str(action.payload["question"])
    await cl.Message(content=question, type="user_message").send()
    await answer(question)


async def answer(question: str) -> None:
    tenant, user_id = await current_tenant()
    agent = get_state().runtime.agent
    reply: cl.Message | None = None  # created at the first token, so steps come before it
    steps: dict[str, cl.Step] = {}
    result: TurnResult | None = None
    async for event in agent.stream(
        tenant=tenant,
        question=question,
        session_id=cl.context.session.thread_id,
        user_id=user_id,
        create_session=True,
    ):
        if event.type == "token":
            reply = reply or cl.Message(content="", author="bichat")
            await reply.stream_token(event.text)
        elif event.type == "tool_start":
            steps[event.data["id"]] = await open_step(event)
        elif event.type == "tool_end":
            await close_step(steps.pop(event.data["record"].id, None), event.data["record"])
        result = event.result or result
    assert result is not None
    await finish(reply or cl.Message(content="", author="bichat"), result)


async def open_step(event: TurnEvent) -> cl.Step:
    name, arguments = event.data["name"], event.data["input"]
    sql = arguments.get("sql") if isinstance(arguments, dict) else None
    step = cl.Step(name=name, type="tool", show_input="sql" if sql is not None else "json")
    step.input = sql if sql is not None else arguments
    await step.send()
    return step


async def close_step(step: cl.Step | None, record: ToolCallRecord) -> None:
    if step is None:
        return
    output = record.output or {}
    if record.error:
        step.output, step.is_error = f"Error: {record.error}", True
    elif "row_count" in output:
        more = ", truncated" if output.get("truncated") else ""
        step.output = f"{output['row_count']} row(s){more} in {output.get('elapsed_ms')} ms"
        if output.get("interpretation"):  # query_metrics: what was counted, and its SQL
            step.output = (
                f"{output['interpretation']}\n\n```sql\n{output.get('sql')}\n```\n{step.output}"
            )
    else:
        step.output = f"done in {record.elapsed_ms} ms"
    await step.update()


async def finish(reply: cl.Message, result: TurnResult) -> None:
    if not reply.content:  # nothing streamed: a failure, or a turn cut short by its limits
        reply.content = result.answer
    reply.elements = result_elements(result)
    reply.actions = follow_up_actions(result)
    await reply.send()
    if result.message_id is not None:  # the chat puts its thumbs on the run holding the answer
        LIVE_ANSWERS[reply.id] = result.message_id
        if reply.parent_id:
            LIVE_ANSWERS[reply.parent_id] = result.message_id


def result_elements(result: TurnResult) -> list[Any]:
    elements: list[Any] = []
    runs = [
        (record, result.result_of(record))
        for record in result.tool_calls
        if record.name in SQL_RESULT_TOOLS and record.error is None
    ]
    for index, (_, sql_result) in enumerate(runs, start=1):
        if sql_result is None:
            continue
        suffix = "" if len(runs) == 1 else f"-{index}"
        elements.append(table_element(sql_result, name=f"result{suffix}"))
        elements.append(csv_element(sql_result, name=f"result{suffix}.csv"))
    elements += [chart_element(chart) for chart in result.charts]
    return elements


def follow_up_actions(result: TurnResult) -> list[cl.Action]:
    asked = result.question.casefold()
    return [
        cl.Action(name="follow_up", payload={"question": q}, label=q)
        for q in result.suggestions
        if q.casefold() != asked
    ][:FOLLOW_UPS]


async def redraw_results(thread: ThreadDict) -> None:
    """Each turn's run_sql results (run again) as tables and CSV, and its charts drawn from
    their stored specs over those results, attached to the turn's answer."""
    tenant, _ = await current_tenant()
    executor = get_state().runtime.executor
    answers = {
        s.get("parentId"): s["id"] for s in thread["steps"] if s.get("type") == "assistant_message"
    }
    turn_results: dict[Any, dict[str, SqlResult]] = {}
    for step in thread["steps"]:
        if step.get("type") != "tool" or step.get("isError"):
            continue
        run, target = step.get("parentId"), answers.get(step.get("parentId"), step["id"])
        results = turn_results.setdefault(run, {})
        if step.get("name") in SQL_RESULT_TOOLS:
            try:
                sql_result = await executor.run(
                    tenant_id=tenant.id,
                    sql=str(step.get("input")),
                    context=f"resume:{thread['id']}",
                )
            except BichatError:  # a query that fails now stays as its step says
                continue
            results[f"r{len(results) + 1}"] = sql_result
            for element in (
                table_element(sql_result, name="result"),
                csv_element(sql_result, name="result.csv"),
            ):
                await element.send(for_id=target)
        elif step.get("name") == "make_chart" and results:
            await redraw_chart(str(step.get("input")), results, target)


async def redraw_chart(spec_json: str, results: dict[str, SqlResult], target: str) -> None:
    try:
        spec = ChartSpec.model_validate_json(spec_json)
        result = results.get(spec.result_id or list(results)[-1])
        if result is None:
            return
        figure = build_figure(spec, result.columns, result.rows)
    except (ValueError, BichatError):  # the data changed shape since: no chart
        return
    await chart_element(Chart(id="resumed", spec=spec, figure=figure)).send(for_id=target)
