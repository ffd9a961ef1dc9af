"""``QuestionEngine``: the answerer that needs no language model. It reads the question
(``understand``), calls the registry's tools the way the agent does (``query_metrics``,
``search_products``, ``bundle_rules``, ``run_sql`` for a verified question, ``make_chart``),
and writes the answer itself, starting with its interpretation. Its calls are reported as the
agent's are, so the turn stores them and ``bichat ask --json`` lists their SQL.

With a model configured it answers first when it is sure (``confident``); otherwise the turn
hands the question to the agent. Without a model it answers everything: an answer, a
clarification with options, or a decline that says what it understood."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from langchain_core.embeddings import Embeddings

from app.answering.events import (
    AnswerEvent,
    AnswerWritten,
    ChartShown,
    OptionsOffered,
    Token,
    ToolFinished,
    ToolStarted,
)
from app.answering.question import Question
from app.figures import Locale
from app.questions import replies
from app.questions.charts import chart_spec
from app.questions.intent import Intent
from app.questions.lexicon import Lexicon, build_lexicon
from app.questions.reading import Reading, read
from app.questions.understand import Context, understand
from app.semantic.periods import Calendar
from app.store.verified import Match
from app.tools import registry
from app.tools.charts import Chart
from app.tools.tool import ToolContext, ToolServices
from db.models.business import WEEKDAYS

PATH = "engine"
SAFE_DECLINES = ("not_allowed", "private", "advice", "future")
EXAMPLES = (
    "What was our revenue last month?",
    "Revenue by payment method this quarter, as a chart",
    "Top 5 products by units sold in the last 90 days",
    "Average order value by customer segment vs the period before, last quarter",
    "Find a warm sleeping bag under $80",
    "Which products are often bought together?",
)
SUGGEST_SIMILARITY = 0.45  # a metric description this close to the question is offered


class QuestionEngine:
    """One per process; ``prepare()`` once. Reports events, never writes the store."""

    path = PATH
    offline = True

    def __init__(
        self,
        *,
        services: ToolServices,
        embeddings: Embeddings | None = None,
        min_similarity: float = 0.8,
    ) -> None:
        assert services.semantic is not None, "the question engine needs the semantic layer"
        self.services, self.semantic = services, services.semantic
        self.embeddings, self.min_similarity = embeddings, min_similarity
        self.lexicon: Lexicon = build_lexicon(self.semantic.model)
        self._vectors: dict[str, list[float]] | None = None
        self._understood: dict[tuple[uuid.UUID, str], Intent] = {}

    async def prepare(self) -> None:
        return None

    def model_label(self) -> str:
        return PATH

    # ----- understanding -------------------------------------------------------------------

    async def context(self, question: Question) -> Context:
        tenant = question.tenant
        index = await self.semantic.index(tenant)
        calendar = Calendar.at(
            self.semantic.clock.now(), tenant.timezone, WEEKDAYS.index(tenant.week_start)
        )
        return Context(
            self.semantic.model,
            self.lexicon,
            index,
            calendar,
            question.calls,
            week_start=tenant.week_start,
            questions=[h.content for h in question.history if h.role == "user"],
        )

    async def intent(self, question: Question) -> Intent:
        key = (question.session_id, question.text)
        if key in self._understood:
            return self._understood.pop(key)
        context = await self.context(question)
        intent = understand(question.text, context)
        if intent.reason in SAFE_DECLINES or intent.kind in ("greet", "help"):
            return intent
        verified = self.verified(question, context)  # a person's answer to the same question
        if verified is not None:
            return verified
        if intent.answers:
            return intent
        return await self.with_suggestions(question, intent)

    async def confident(self, question: Question) -> bool:
        """Sure enough to answer without the model (kept for the answer that follows)."""
        intent = await self.intent(question)
        self._understood[(question.session_id, question.text)] = intent
        if len(self._understood) > 256:  # questions asked but never answered
            self._understood.pop(next(iter(self._understood)))
        return intent.confident

    def verified(self, question: Question, context: Context) -> Intent | None:
        """A verified question's SQL, only when it is the same question: as close as the
        setting asks, and the same metrics, groupings, values, periods, numbers and words."""
        mine = signature(read(question.text, context.lexicon, context.index, context.today))
        for match in question.matches:
            if match.similarity < self.min_similarity:
                break
            theirs = read(match.question, context.lexicon, context.index, context.today)
            if signature(theirs) == mine:
                return verified_intent(match)
        return None

    async def with_suggestions(self, question: Question, intent: Intent) -> Intent:
        """A clarification with the metric whose meaning is nearest the question's (the local
        embedding model), as a lower-confidence hint: an option, never an answer."""
        if self.embeddings is None or intent.reason != "not_understood" or intent.kind != "decline":
            return intent  # only when nothing countable was understood
        vectors = await self.metric_vectors()
        query = await asyncio.to_thread(self.embeddings.embed_query, question.text)
        scored = sorted(
            (
                (sum(a * b for a, b in zip(query, v, strict=True)), name)
                for name, v in vectors.items()
            ),
            reverse=True,
        )
        best, name = scored[0]
        if best < SUGGEST_SIMILARITY:
            return intent
        label = self.semantic.model.metrics[name].label
        option = f"{label} by month this year"
        return replace(intent, options=[*intent.options, option][:4])

    async def metric_vectors(self) -> dict[str, list[float]]:
        if self._vectors is None:
            assert self.embeddings is not None
            names = list(self.lexicon.descriptions)
            texts = [self.lexicon.descriptions[n] for n in names]
            vectors = await asyncio.to_thread(self.embeddings.embed_documents, texts)
            self._vectors = dict(zip(names, vectors, strict=True))
        return self._vectors

    # ----- answering -----------------------------------------------------------------------

    async def answer(self, question: Question) -> AsyncGenerator[AnswerEvent, None]:
        intent = await self.intent(question)
        if not intent.answers:
            text = self.words(intent)
            if intent.options:
                yield OptionsOffered(intent.options)
            yield Token(text)
            yield AnswerWritten(text)
            return
        tools = ToolContext(
            tenant=question.tenant,
            session_id=question.session_id,
            services=self.services,
            turn=question.results,
        )
        events: list[AnswerEvent] = []
        reply = await self.call(tools, intent.tool or "", intent.arguments, events)
        for event in events:
            yield event
        if reply is None:
            text = (
                "I read the question but its query failed, so I have no figures to show; "
                "try asking it another way?"
            )
            yield Token(text)
            yield AnswerWritten(text)
            return
        text = self.compose(intent, reply, question)
        if intent.kind == "metrics":
            async for event in self.chart(tools, intent, reply):
                yield event
        yield Token(text)
        yield AnswerWritten(text)

    async def call(
        self, tools: ToolContext, name: str, arguments: dict[str, Any], events: list[AnswerEvent]
    ) -> dict[str, Any] | None:
        tool = registry.tool_named(name)
        assert tool is not None and tool.offline, f"the engine may not call {name}"
        call_id = f"engine_{uuid.uuid4().hex[:12]}"
        events.append(ToolStarted(call_id, name, arguments))
        started = asyncio.get_running_loop().time()
        reply = await registry.invoke(tool, tools, arguments)
        elapsed = round((asyncio.get_running_loop().time() - started) * 1000, 1)
        events.append(ToolFinished(registry.record(call_id, name, arguments, reply, elapsed)))
        for shown in reply.shown:
            if isinstance(shown, Chart):
                events.append(ChartShown(shown))
        return reply.output

    async def chart(
        self, tools: ToolContext, intent: Intent, output: dict[str, Any]
    ) -> AsyncGenerator[AnswerEvent, None]:
        spec = chart_spec(output, intent.chart, str(output.get("interpretation", "")))
        if spec is None:
            return
        events: list[AnswerEvent] = []
        await self.call(tools, registry.MAKE_CHART, spec, events)
        for event in events:
            yield event

    def compose(self, intent: Intent, output: dict[str, Any], question: Question) -> str:
        locale = Locale(question.tenant.currency, question.tenant.timezone)
        if intent.kind == "metrics":
            body = replies.metrics_answer(output, intent, locale)
        elif intent.kind == "search":
            body = replies.search_answer(output, intent.arguments, locale)
        elif intent.kind == "bundles":
            body = replies.bundles_answer(output, intent.arguments, locale)
        elif intent.kind in ("explain", "forecast"):
            body = str(output.get("text", ""))
        else:
            body = replies.verified_answer(output, intent.verified_question or "", locale)
        return f"{body}\n\n{replies.LABEL}"

    def words(self, intent: Intent) -> str:
        model = self.semantic.model
        if intent.kind == "greet":
            return replies.greeting(model, thanks=intent.reason == "thanks")
        if intent.kind == "help":
            return replies.help_text(model, EXAMPLES)
        return replies.options_text(intent)


def verified_intent(match: Match) -> Intent:
    return Intent(
        "verified",
        tool=registry.RUN_SQL,
        arguments={"sql": match.sql},
        confident=True,
        reason="verified",
        verified_question=match.question,
    )


def signature(reading: Reading) -> tuple[Any, ...]:
    """What a question asks, without its wording: two questions with the same signature are
    the same question (numbers, periods, values and unknown words included)."""
    mentions = frozenset(
        (m.kind, tuple(sorted(m.names())), tuple(sorted(v.value for v in m.values)))
        for m in reading.mentions
    )
    periods = frozenset(p.key() for p in reading.times.periods)
    flags = (
        reading.top,
        reading.descending,
        reading.decimals,
        reading.min_price,
        reading.max_price,
        reading.in_stock,
        reading.share,
        reading.growth,
        reading.bundle,
        reading.search,
        reading.any_status,
        reading.times.grain,
        reading.times.compare,
    )
    words = frozenset(t.lemma for t in (*reading.unknown, *reading.names, *reading.critical))
    return (mentions, periods, flags, words)
