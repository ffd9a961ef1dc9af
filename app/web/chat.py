"""The Chainlit chat: login against app_users, starters from verified questions, answers
streamed token by token, each tool call as a step, results as a table with a CSV download,
charts, follow-up suggestions, an offline-mode indicator, history from our own store.

Mounted into the FastAPI app by ``app.web.server`` (``mount_chainlit`` loads this file).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any

import chainlit as cl
from chainlit.types import InputAudioChunk, ThreadDict
from chainlit.utils import utc_now

from app.dashboards.pin import can_pin, pin_answer
from app.errors import BichatError, NotFound
from app.figures import Locale
from app.markdown_text import escape_lines
from app.store.pins import Viewer
from app.store.verified import starter_questions
from app.tools import registry
from app.tools.charts import Chart
from app.tools.tool import Shown, ToolCallRecord, ToolContext
from app.turn.events import Answered, Failed, StillWorking, Token, ToolFinished, ToolStarted
from app.turn.result import TurnResult
from app.voice.recording import Recording
from app.voice.transcription import NO_PROVIDER
from app.web import voice_input
from app.web.answer_view import TableView, outputs_by_result, without_grid_tables
from app.web.chat_session import reread_user
from app.web.data_layer import LIVE_ANSWERS, StoreDataLayer
from app.web.elements import chart_element, csv_element, table_element
from app.web.state import get_state
from db.availability import is_unavailable, retries
from db.tenants import TenantRecord, get_tenant
from db.users import ActiveUser, authenticate

log = logging.getLogger(__name__)

STARTERS = 4
SESSION_ENDED = "Your session has ended: log in again."
DRAINING = (
    "This server is restarting and did not take your question. Reload the page and ask "
    "again: another server answers it."
)
REDRAW_DELAY_S = 0.5
FOLLOW_UPS = 3
PIN_LABEL = "Pin to dashboard"
PINNED = "Pinned to your dashboard: [open the dashboard](/dashboard)."
NOT_SENT = (
    "Your question was not sent: bichat is briefly unavailable (its database is not "
    "answering, it may be restarting). It is back in the message box: send it again in a "
    "moment."
)
CRASHED = (
    "Something went wrong on our side and your question was not answered (the error is logged "
    "for the administrators). Try again in a moment."
)
RESTORE_QUESTION = "bichat.restore_question"  # the window message bichat.js puts back
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
                "(BICHAT_MODEL) answers freer questions. " + NO_PROVIDER
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
    state = get_state()
    async for attempt in retries(budget_s=state.settings.database_retry_s, what="reading a shop"):
        with attempt:
            async with state.runtime.engine.connect() as connection:
                tenant = await get_tenant(connection, user.tenant)
    return tenant


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await answer(message.content, asked=message)


@cl.action_callback("follow_up")
async def follow_up(action: cl.Action) -> None:
    await ask_as_user(str(action.payload["question"]))


async def ask_as_user(question: str, *, audio_ms: int | None = None) -> None:
    """A question not typed into the box (a suggestion clicked, a spoken one): shown as the
    user's, then answered as a typed one is, in a run under it (what Chainlit's
    ``on_message`` does), so its steps and answer show below it and in the same order."""
    asked = cl.Message(content=question, type="user_message")
    asked.parent_id = None  # not inside the hook's own run (``on_audio_end``)
    await asked.send()
    async with cl.Step(name="on_message", type="run", parent_id=asked.id) as run:
        run.input = question
        await answer(question, asked=asked, audio_ms=audio_ms)


@cl.on_audio_start
async def audio_start() -> bool:
    return voice_input.start_recording()


@cl.on_audio_chunk
async def audio_chunk(chunk: InputAudioChunk) -> None:
    voice_input.keep_chunk(chunk)


@cl.on_audio_end
async def audio_end() -> None:
    """The user stopped speaking: the question is transcribed, shown and answered."""
    await hear(voice_input.take(voice_input.RECORDING))


@cl.action_callback(voice_input.TRY_AGAIN_ACTION)
async def voice_again(action: cl.Action) -> None:
    await action.remove()
    await hear(voice_input.take(voice_input.UNHEARD))


async def hear(recording: Recording | None) -> None:
    user = await session_user()
    if user is None:
        await cl.Message(content=SESSION_ENDED, author="bichat").send()
        return
    if recording is None:
        return
    question = await voice_input.transcribe(recording, user)
    if question is not None:
        await ask_as_user(question, audio_ms=recording.audio_ms)


async def answer(
    question: str, *, asked: cl.Message | None = None, audio_ms: int | None = None
) -> None:
    """Run the turn and show it (``audio_ms``: a spoken question, stored as ``voice``). A question that could not be stored is not answered: its
    bubble is taken back, the user is told why in plain words, and the text goes back into the
    message box (``bichat.js``); nothing of the driver's error text reaches the page."""
    try:
        await run_turn(question, audio_ms=audio_ms)
    except Exception as error:
        if is_unavailable(error):
            await not_sent(question, asked)
        elif isinstance(error, BichatError):  # the question itself (empty, too long)
            await cl.Message(content=error.message, author="bichat").send()
        else:
            log.exception("a chat turn failed before it started")
            await cl.Message(content=CRASHED, author="bichat").send()


async def not_sent(question: str, asked: cl.Message | None) -> None:
    if asked is not None:
        await asked.remove()
    await cl.Message(content=NOT_SENT, author="bichat").send()
    await cl.context.emitter.send_window_message({"type": RESTORE_QUESTION, "text": question})


async def run_turn(question: str, *, audio_ms: int | None = None) -> None:
    user = await session_user()
    if user is None:
        await cl.Message(content=SESSION_ENDED, author="bichat").send()
        return
    if get_state().runtime.turns.drain.draining:  # stopping: asked again, another one answers
        await cl.Message(content=DRAINING, author="bichat").send()
        return
    tenant = await tenant_of(user)
    reply = LiveReply()
    steps: dict[str, cl.Step] = {}
    waiting = Waiting()
    result: TurnResult | None = None
    async for event in get_state().runtime.turns.stream(
        tenant=tenant,
        question=question,
        session_id=cl.context.session.thread_id,
        user_id=user.id,
        create_session=True,
        channel="chat" if audio_ms is None else "voice",
        audio_ms=audio_ms,
    ):
        if not isinstance(event, StillWorking):
            await waiting.hide()  # something shows: no need to say it still works
        match event:
            case Token(text):
                await reply.stream(text)
            case ToolStarted(call_id, tool, arguments):
                await reply.make_way()  # a step goes above the answer, never below it
                steps[call_id] = await open_step(tool, arguments)
            case ToolFinished(call):
                await close_step(steps.pop(call.id, None), call)
            case StillWorking():
                await waiting.show(event)
            case Answered(done) | Failed(done):
                result = done
    assert result is not None
    await finish(reply.message(), result, tenant, user)


class LiveReply:
    """The answer's message, created at its first token (so the steps before it stay above
    it); a step that starts after some text takes the text's place, and the text follows."""

    def __init__(self) -> None:
        self.current: cl.Message | None = None
        self.carried = ""

    async def stream(self, text: str) -> None:
        if self.current is None:
            # stamped now: without a time Chainlit's page puts a streamed message above the
            # steps that came before it
            self.current = cl.Message(content="", author="bichat", created_at=utc_now())
            if self.carried:
                await self.current.stream_token(self.carried)
        await self.current.stream_token(text)

    async def make_way(self) -> None:
        if self.current is not None:
            self.carried = self.current.content
            await self.current.remove()
            self.current = None

    def message(self) -> cl.Message:
        return self.current or cl.Message(
            content=self.carried, author="bichat", created_at=utc_now()
        )


class Waiting:
    """A step that says the turn still works while nothing else shows ("Using the model
    (attempt 2 of 3, 35 s)"), gone once something does."""

    def __init__(self) -> None:
        self.step: cl.Step | None = None

    async def show(self, event: StillWorking) -> None:
        name = f"{event.what} (attempt {event.attempt} of {event.attempts}, {event.waited_s:.0f} s)"
        words = f"Still working: waiting for {name}."
        if self.step is None:
            self.step = cl.Step(name=name, type="run", parent_id=turn_run())
            self.step.output = words
            await self.step.send()
        else:
            self.step.name, self.step.output = name, words
            await self.step.update()

    async def hide(self) -> None:
        if self.step is not None:
            await self.step.remove()
            self.step = None


def turn_run() -> str | None:
    """The run the turn's answer belongs to (Chainlit's ``on_message`` step): its steps go in
    it too. A ``cl.Step`` only finds its parent as a context manager, while a message always
    does; a step sent without one was a top-level item after the question's whole block, so
    the page drew every step of a live turn below its answer."""
    step = cl.context.current_step
    return step.id if step is not None else None


async def open_step(tool: str, arguments: dict[str, Any]) -> cl.Step:
    shown = registry.shown_input(tool, arguments)
    step = cl.Step(name=tool, type="tool", show_input=shown.language, parent_id=turn_run())
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


async def finish(
    reply: cl.Message, result: TurnResult, tenant: TenantRecord, user: ActiveUser
) -> None:
    locale = Locale(tenant.currency, tenant.timezone)
    """The final message says what the store keeps: the stored answer (what streamed before
    it, from earlier model calls or a failed attempt, is replaced), or the failure."""
    reply.content = result.answer or reply.content
    # each result once: as its table below the text, not again as a table in the text
    shown = without_grid_tables(reply.content, shown_grids(result))
    changed, reply.content = shown != reply.content, shown
    reply.elements = result_elements(result, locale)  # below the text
    reply.actions = option_actions(result) or follow_up_actions(result)
    reply.actions += await pin_actions(result, user)
    await reply.send()
    if changed:  # the streamed text is replaced
        await reply.update()
    if result.message_id is not None:  # the chat puts its thumbs on the run holding the answer
        LIVE_ANSWERS[reply.id] = result.message_id
        if reply.parent_id:
            LIVE_ANSWERS[reply.parent_id] = result.message_id


def shown_grids(result: TurnResult) -> list[list[str]]:
    return [sql_result.columns for sql_result in result.results.values()]


def result_elements(result: TurnResult, locale: Locale) -> list[Any]:
    """The turn's tables (each with its CSV) and then its charts."""
    tables = list(result.results.items())
    outputs = outputs_by_result(result.tool_calls)
    elements: list[Any] = []
    for index, (result_id, sql_result) in enumerate(tables, start=1):
        suffix = "" if len(tables) == 1 else f"-{index}"
        view = TableView(locale, outputs.get(result_id))
        elements += shown_elements(sql_result, suffix=suffix, view=view)
    for chart in result.charts:
        elements += shown_elements(chart)
    return elements


def shown_elements(shown: Shown, *, suffix: str = "", view: TableView | None = None) -> list[Any]:
    if isinstance(shown, Chart):
        return [chart_element(shown)]
    view = view or TableView(Locale())
    return [
        table_element(shown, name=f"result{suffix}", output=view.output, locale=view.locale),
        csv_element(shown, name=f"result{suffix}.csv"),
    ]


def option_actions(result: TurnResult) -> list[cl.Action]:
    """A clarification's options as buttons: clicking one asks it."""
    return [cl.Action(name="follow_up", payload={"question": q}, label=q) for q in result.options]


def follow_up_actions(result: TurnResult) -> list[cl.Action]:
    """Close verified questions, never the question just asked (in other words or case)."""
    seen = {question_words(result.question)}
    actions = []
    for question in result.suggestions:
        if question_words(question) in seen:
            continue
        seen.add(question_words(question))
        actions.append(cl.Action(name="follow_up", payload={"question": question}, label=question))
    return actions[:FOLLOW_UPS]


def question_words(question: str) -> str:
    return " ".join(re.findall(r"[0-9a-z]+", question.casefold()))


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
        view = TableView(Locale(tenant.currency, tenant.timezone), reply.output)
        for shown in reply.shown:  # a call that fails now stays as its step says
            for element in shown_elements(shown, view=view):
                await element.send(for_id=target)
