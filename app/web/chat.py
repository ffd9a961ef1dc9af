"""The Chainlit chat: login against app_users, starters from verified questions, answers
streamed token by token, each tool call as a step, results as a table with a CSV download,
charts, follow-up suggestions, an offline-mode indicator, history from our own store.

Mounted into the FastAPI app by ``app.web.server`` (``mount_chainlit`` loads this file).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import chainlit as cl
from chainlit.types import ThreadDict

from app.dashboards.pin import can_pin, pin_answer
from app.errors import BichatError, NotFound
from app.markdown_text import escape_lines
from app.store.pins import Viewer
from app.store.verified import starter_questions
from app.tools import registry
from app.tools.charts import Chart
from app.tools.tool import Shown, ToolCallRecord, ToolContext
from app.turn.events import Answered, Failed, Token, ToolFinished, ToolStarted
from app.turn.result import TurnResult
from app.web.chat_session import reread_user
from app.web.data_layer import LIVE_ANSWERS, StoreDataLayer
from app.web.elements import chart_element, csv_element, table_element
from app.web.state import get_state
from db.tenants import TenantRecord, get_tenant
from db.users import ActiveUser, authenticate

STARTERS = 4
SESSION_ENDED = "Your session has ended: log in again."
REDRAW_DELAY_S = 0.5
FOLLOW_UPS = 3
PIN_LABEL = "Pin to dashboard"
PINNED = "Pinned to your dashboard: [open the dashboard](/dashboard)."
OFFLINE_MODE = cl.Mode(
    id="model",
    name="Model",
    options=[
        cl.ModeOption(
            id="offline",
            name="Offline: no language model",
            description=(
                "Answers questions about the shop's metrics (revenue, orders, units, customers, "
                "ratings... by channel, product, region, period), searches products, lists "
                "bought-together rules and asks back when unsure. A language model "
                "(BICHAT_MODEL) answers freer questions."
            ),
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
    """Tells Chainlit the chat has a password login (its page shows the form). The form's
    requests are answered by ``app.web.chat_routes.login`` (throttled), registered ahead of
    Chainlit's route; this is what Chainlit would call otherwise."""
    user = await authenticate(get_state().runtime.engine, username=username, password=password)
    if user is None:
        return None
    return cl.User(
        identifier=user.username,
        metadata={"user_id": user.id, "role": user.role, "tenant": user.tenant},
    )


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    questions = await starter_questions(get_state().runtime.engine, limit=STARTERS)
    return [cl.Starter(label=q, message=q) for q in questions]


async def show_mode() -> None:
    if get_state().runtime.turns.offline:
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


async def session_user() -> ActiveUser | None:
    """The socket's user as the database has them now: a user deactivated or deleted (or
    whose tenant was) since the socket connected gets no more answers."""
    user = cl.context.session.user
    user_id = (user.metadata or {}).get("user_id") if user else None
    if not isinstance(user_id, int):
        return None
    found = await reread_user(user_id)
    return (
        found
        if found is not None and user is not None and found.username == user.identifier
        else None
    )


async def tenant_of(user: ActiveUser) -> TenantRecord:
    async with get_state().runtime.engine.connect() as connection:
        return await get_tenant(connection, user.tenant)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await answer(message.content)


@cl.action_callback("follow_up")
async def follow_up(action: cl.Action) -> None:
    question = str(action.payload["question"])
    await cl.Message(content=question, type="user_message").send()
    await answer(question)


async def answer(question: str) -> None:
    user = await session_user()
    if user is None:
        await cl.Message(content=SESSION_ENDED, author="bichat").send()
        return
    tenant = await tenant_of(user)
    reply: cl.Message | None = None  # created at the first token, so steps come before it
    steps: dict[str, cl.Step] = {}
    result: TurnResult | None = None
    async for event in get_state().runtime.turns.stream(
        tenant=tenant,
        question=question,
        session_id=cl.context.session.thread_id,
        user_id=user.id,
        create_session=True,
    ):
        match event:
            case Token(text):
                reply = reply or cl.Message(content="", author="bichat")
                await reply.stream_token(text)
            case ToolStarted(call_id, tool, arguments):
                steps[call_id] = await open_step(tool, arguments)
            case ToolFinished(call):
                await close_step(steps.pop(call.id, None), call)
            case Answered(done) | Failed(done):
                result = done
    assert result is not None
    await finish(reply or cl.Message(content="", author="bichat"), result, user)


async def open_step(tool: str, arguments: dict[str, Any]) -> cl.Step:
    shown = registry.shown_input(tool, arguments)
    step = cl.Step(name=tool, type="tool", show_input=shown.language)
    step.input = shown.text if shown.language == "sql" else arguments
    await step.send()
    return step


async def close_step(step: cl.Step | None, call: ToolCallRecord) -> None:
    if step is None:
        return
    shown = registry.shown_input(call.name, call.input, call.output)
    if shown.language == "sql":  # a tool that writes its SQL shows it once it has
        step.input, step.show_input = shown.text, "sql"
    step.output = escape_lines(
        registry.outcome_text(call.name, call.output, call.error, call.elapsed_ms)
    )
    step.is_error = call.error is not None
    await step.update()


async def finish(reply: cl.Message, result: TurnResult, user: ActiveUser) -> None:
    if not reply.content:  # nothing streamed: a failure, or a turn cut short by its limits
        reply.content = result.answer
    reply.elements = result_elements(result)  # below the text, which starts with the interpretation
    reply.actions = option_actions(result) or follow_up_actions(result)
    reply.actions += await pin_actions(result, user)
    await reply.send()
    if result.message_id is not None:  # the chat puts its thumbs on the run holding the answer
        LIVE_ANSWERS[reply.id] = result.message_id
        if reply.parent_id:
            LIVE_ANSWERS[reply.parent_id] = result.message_id


def result_elements(result: TurnResult) -> list[Any]:
    """The turn's tables (each with its CSV) and then its charts."""
    tables = list(result.results.values())
    elements: list[Any] = []
    for index, sql_result in enumerate(tables, start=1):
        suffix = "" if len(tables) == 1 else f"-{index}"
        elements += shown_elements(sql_result, suffix=suffix)
    for chart in result.charts:
        elements += shown_elements(chart)
    return elements


def shown_elements(shown: Shown, *, suffix: str = "") -> list[Any]:
    if isinstance(shown, Chart):
        return [chart_element(shown)]
    return [
        table_element(shown, name=f"result{suffix}"),
        csv_element(shown, name=f"result{suffix}.csv"),
    ]


def option_actions(result: TurnResult) -> list[cl.Action]:
    """A clarification's options as buttons: clicking one asks it."""
    return [cl.Action(name="follow_up", payload={"question": q}, label=q) for q in result.options]


def follow_up_actions(result: TurnResult) -> list[cl.Action]:
    asked = result.question.casefold()
    return [
        cl.Action(name="follow_up", payload={"question": q}, label=q)
        for q in result.suggestions
        if q.casefold() != asked
    ][:FOLLOW_UPS]


async def pin_actions(result: TurnResult, user: ActiveUser) -> list[cl.Action]:
    """A pin button under an answer from the shop's metrics or a verified query."""
    if result.message_id is None or result.error is not None:
        return []
    viewer = Viewer(user.tenant_id, user.id)
    if not await can_pin(get_state().runtime.engine, viewer, result.message_id):
        return []
    payload = {"message_id": result.message_id}
    return [cl.Action(name="pin", payload=payload, label=PIN_LABEL, icon="pin")]


@cl.action_callback("pin")
async def pin(action: cl.Action) -> None:
    """Pin the answer to the user's dashboard (their own answer only: the store checks)."""
    user = await session_user()
    if user is None:
        await cl.Message(content=SESSION_ENDED, author="bichat").send()
        return
    message_id = action.payload.get("message_id")
    try:
        if not isinstance(message_id, int):
            raise NotFound("no such answer", code="unknown_answer")
        await pin_answer(get_state().runtime.engine, Viewer(user.tenant_id, user.id), message_id)
    except BichatError as error:
        await cl.Message(content=f"Not pinned: {error.message}", author="bichat").send()
        return
    await action.remove()
    await cl.Message(content=PINNED, author="bichat").send()


async def redraw_results(thread: ThreadDict) -> None:
    """Each turn's tables (its queries run again, through the guard) and charts (drawn from
    their stored specs over those results), attached to the turn's answer: every stored call
    of a tool that ``replays`` is made again in a context of its own turn."""
    user = await session_user()
    if user is None:
        return
    tenant = await tenant_of(user)
    services = get_state().runtime.agent.services
    answers = {
        s.get("parentId"): s["id"] for s in thread["steps"] if s.get("type") == "assistant_message"
    }
    turns: dict[Any, ToolContext] = {}
    for step in thread["steps"]:
        tool = registry.tool_named(step.get("name"))
        if step.get("type") != "tool" or step.get("isError") or tool is None or not tool.replays:
            continue
        run, target = step.get("parentId"), answers.get(step.get("parentId"), step["id"])
        context = turns.setdefault(
            run,
            ToolContext(tenant, uuid.UUID(thread["id"]), services, purpose="resume"),
        )
        arguments = (step.get("metadata") or {}).get("input") or {}
        reply = await registry.invoke(tool, context, arguments)
        for shown in reply.shown:  # a call that fails now stays as its step says
            for element in shown_elements(shown):
                await element.send(for_id=target)
