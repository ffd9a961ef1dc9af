"""Deciding what a question is: a request to decline at once (a write, an injection, private
data, the future), a greeting or a request for help, "bought together" rules, a product
search, a metric question (maybe a follow-up of the previous one), a verified question, or
something to ask back about. A wrong answer is worse than none: anything the reading could not
place turns an answer into a clarification that says what was understood."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.questions import grammar as g
from app.questions.draft import Draft, Scene, build_draft
from app.questions.followups import merge_query, merge_search, previous_call
from app.questions.insights import insight_intent
from app.questions.intent import Intent, clarify, decline
from app.questions.lexicon import Lexicon
from app.questions.phrasing import query_question
from app.questions.reading import Reading, read
from app.semantic.errors import InvalidQuery
from app.semantic.model import SemanticModel
from app.semantic.periods import Calendar
from app.semantic.plan import build_plan
from app.semantic.query import SemanticQuery
from app.semantic.values import ValuesIndex
from app.store.conversations import StoredCall
from app.tools import registry

WRITES = (
    "I only read your shop's data: I can't change, add or delete anything, and I don't take "
    "instructions to change how I work or whose data I read."
)
PRIVATE = (
    "Customers' e-mail addresses, phone numbers, street addresses and birth dates are private: "
    "bichat never reads them. I can count customers by city, region, country or segment."
)
FUTURE = (
    "I report what has happened in your shop's data; for what comes next I can forecast a "
    "measure, e.g. “forecast revenue for the next 4 weeks”."
)
ADVICE = "I answer questions about your shop's data; I don't give advice or opinions."


@dataclass
class Context:
    model: SemanticModel
    lexicon: Lexicon
    index: ValuesIndex
    calendar: Calendar
    calls: list[StoredCall] = field(default_factory=list)  # this conversation's tool calls
    week_start: str = "monday"
    questions: list[str] = field(default_factory=list)  # its earlier questions, oldest first

    @property
    def today(self) -> date:
        return self.calendar.today

    @property
    def instant(self) -> datetime:
        """The calendar's now as an instant (planning takes the clock's reading)."""
        zone = ZoneInfo(self.calendar.timezone or "UTC")
        return self.calendar.now.replace(tzinfo=zone)

    @property
    def scene(self) -> Scene:
        return Scene(self.model, self.lexicon, self.calendar)


def understand(question: str, context: Context) -> Intent:
    text = " ".join(question.split())
    low = text.casefold()
    early = safety(low) or social(low)
    if early is not None:
        return early
    asked = insight_intent(text, context)
    if asked is not None:
        return asked
    reading = read(text, context.lexicon, context.index, context.today)
    if reading.times.future or re.search(g.FUTURE_PATTERN, low):
        return decline(FUTURE, reason="future", confident=True)
    if reading.bundle:
        return bundle_intent(reading, context)
    if searching(reading):
        return search_intent(reading, context)
    return metric_intent(reading, context)


def safety(low: str) -> Intent | None:
    if re.search(g.WRITE_PATTERN, low) or re.search(g.INJECTION_PATTERN, low):
        return decline(WRITES, reason="not_allowed", confident=True)
    if re.search(g.PRIVATE_PATTERN, low):
        return decline(PRIVATE, reason="private", confident=True)
    if re.search(g.ADVICE_PATTERN, low):
        return decline(ADVICE, reason="advice", confident=True)
    return None


def social(low: str) -> Intent | None:
    if re.search(g.GREETINGS, low):
        return Intent("greet", confident=True, reason="greeting")
    if re.search(g.THANKS, low):
        return Intent("greet", confident=True, reason="thanks")
    if re.search(g.HELP, low):
        return Intent("help", confident=True, reason="help")
    return None


# ----- bundles ---------------------------------------------------------------------------------


def bundle_intent(reading: Reading, context: Context) -> Intent:
    arguments: dict[str, Any] = dict(reading.bundle_limits)
    products = [v for m in reading.of_kind("value") for v in m.values if v.dimension == "product"]
    others = [
        m for m in reading.of_kind("value") if not any(v.dimension == "product" for v in m.values)
    ]
    if products:
        arguments["product"] = products[0].value
    words = {t.norm for t in reading.sentence.tokens}
    if reading.how_many or reading.bundle_average or "average" in words:
        arguments["summary"] = True
    measures = [m.names("bundle")[0] for m in reading.of_kind("bundle") if m.names("bundle")]
    ranked = [m for m in measures if m in ("lift", "confidence", "support")]
    if ranked and not arguments.get("summary"):
        arguments["order_by"] = ranked[0]
    if reading.top is not None:
        arguments["top"] = reading.top
    if reading.decimals is not None:
        arguments["decimals"] = reading.decimals
    problems = bundle_problems(reading, others)
    if problems:
        return decline(
            f"I can list and count “bought together” rules (by product, lift, confidence), but "
            f"I could not use {listing(problems)} in this question. What would you like to know "
            "about them?",
            reason="bundle_words",
            options=[
                "Which products are often bought together?",
                "How many bought-together rules are there?",
            ],
        )
    follow = merge_bundle_limits(reading, context, arguments)
    return Intent(
        "bundles",
        tool=registry.BUNDLE_RULES,
        arguments=follow,
        confident=not reading.fuzzy,
        reason="bundles",
    )


def bundle_problems(reading: Reading, others: list[Any]) -> list[str]:
    problems = [f"“{t.text}”" for t in (*reading.critical, *reading.unknown, *reading.names)]
    problems = list(dict.fromkeys(problems))
    problems += [f"“{m.said}”" for m in others if not m.in_parens]
    metrics = [m for m in reading.of_kind("metric") if not m.in_parens and not m.names("entity")]
    problems += [f"“{m.said}”" for m in metrics]  # "customers" who buy together: context
    dims = [
        m
        for m in reading.of_kind("dimension")
        if not m.in_parens and "product" not in m.names("dimension")
    ]
    problems += [f"“{m.said}”" for m in dims]
    return list(dict.fromkeys(problems))


def merge_bundle_limits(
    reading: Reading, context: Context, arguments: dict[str, Any]
) -> dict[str, Any]:
    previous = previous_call(context.calls, (registry.BUNDLE_RULES,))
    if reading.follow_up and previous is not None and isinstance(previous.tool_input, dict):
        return {**previous.tool_input, **arguments}
    return arguments


# ----- product search -------------------------------------------------------------------------


def searching(reading: Reading) -> bool:
    """Products to find: search words or price and stock filters, and nothing to count (no
    metric, not even "orders" or "customers": "orders over $100" is no product search)."""
    metrics = [m for m in reading.of_kind("metric") if not m.in_parens]
    if metrics or reading.how_many or reading.how_much:
        return False
    filtered = reading.max_price is not None or reading.min_price is not None or reading.in_stock
    return reading.search or filtered


def search_intent(reading: Reading, context: Context) -> Intent:
    sentence = reading.sentence
    kept = [
        t.text
        for t in sentence.tokens
        if sentence.claims.get(t.index) not in ("price", "stock", "follow_up") and t.kind != "punct"
    ]
    query = re.sub(
        r"^(?:(?:please|hey|hi|ok|so)\s+)*(?:(?:can|could|would) you\s+)?(?:please\s+)?(?:find|"
        r"search(?: for)?|look(?:ing)? for|show|recommend|suggest|get|give)(?: me| us)?\s+",
        "",
        " ".join(kept),
        flags=re.IGNORECASE,
    ).strip(" ?.!")
    arguments: dict[str, Any] = {"query": query or sentence.question}
    if reading.min_price is not None:
        arguments["min_price"] = reading.min_price
    if reading.max_price is not None:
        arguments["max_price"] = reading.max_price
    if reading.in_stock:
        arguments["in_stock"] = True
    categories = [
        v
        for m in reading.of_kind("value")
        if not m.fuzzy
        for v in m.values
        if v.dimension == "category"
    ]
    if categories:
        arguments["category"] = categories[0].value
    previous = previous_call(context.calls, (registry.SEARCH_PRODUCTS,))
    if reading.follow_up and previous is not None and not reading.unknown:
        arguments = merge_search(previous.tool_input, arguments)
    return Intent(
        "search",
        tool=registry.SEARCH_PRODUCTS,
        arguments=arguments,
        confident=True,
        reason="search",
    )


# ----- metrics ---------------------------------------------------------------------------------


def metric_intent(reading: Reading, context: Context) -> Intent:
    draft = build_draft(reading, context.scene)
    previous = previous_query(context)
    follow = previous is not None and (
        reading.follow_up or reading.chart is not None or (not draft.metrics and not draft.empty)
    )
    if follow and previous is not None:
        return follow_up_intent(reading, context, draft, previous)
    return draft_intent(reading, context, draft)


def previous_query(context: Context) -> dict[str, Any] | None:
    """The query of the previous turn: its stored ``query_metrics`` input; when it was
    answered another way (a verified question's SQL, the agent's own SQL), the previous
    question read again."""
    call = previous_call(context.calls, (registry.QUERY_METRICS,))
    if call is not None and isinstance(call.tool_input, dict):
        return call.tool_input
    if not context.questions:
        return None
    earlier = replace(context, calls=[], questions=context.questions[:-1])
    intent = understand(context.questions[-1], earlier)
    return intent.arguments if intent.kind == "metrics" else None


def draft_intent(reading: Reading, context: Context, draft: Draft) -> Intent:
    if draft.problems:
        return not_understood(reading, context, draft)
    if not draft.metrics:
        return no_metric(reading, context, draft)
    if draft.questions:
        return ask_back(context, draft)
    if draft.ranked_without_group is not None:
        side = "Top" if reading.descending is not False else "Bottom"
        options = [
            query_question(
                context.model, draft.query() | {"by": [d], "top": draft.ranked_without_group}
            )
            for d in ("product", "customer", "brand")
        ]
        return clarify(
            f"{side} {draft.ranked_without_group} of what: products, customers, brands...?",
            options,
            reason="rank_what",
        )
    return checked(context, draft.query(), reading, draft)


def checked(context: Context, query: dict[str, Any], reading: Reading, draft: Draft) -> Intent:
    """The query as the semantic layer plans it; its refusal (a dimension the metric does not
    allow, a snapshot over time...) becomes a clarification."""
    try:
        build_plan(
            SemanticQuery.parse(query),
            context.model,
            context.index,
            timezone=context.calendar.timezone or "UTC",
            week_start=context.week_start,
            now=context.instant,
        )
    except InvalidQuery as error:
        return clarify(
            f"I read this as {query_question(context.model, query).lower()}, but that does not "
            f"work: {first_sentence(error.message)} What would you like instead?",
            [query_question(context.model, q) for q in fallback_queries(context, query)],
            reason=error.code,
        )
    chart = reading.chart or "auto"
    return Intent(
        "metrics",
        tool=registry.QUERY_METRICS,
        arguments=query,
        chart=chart,
        confident=not reading.fuzzy,
        notes=draft.notes,
        reason="metrics",
    )


def first_sentence(text: str) -> str:
    head = text.split(". ")[0].rstrip(".")
    return head + "."


def fallback_queries(context: Context, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The same question without what the planner refused (its groupings, then its filters)."""
    options = []
    for drop in ("by", "filters", "grain", "compare"):
        if query.get(drop):
            simpler = {k: v for k, v in query.items() if k != drop}
            options.append(simpler)
    return options[:3]


def follow_up_intent(
    reading: Reading, context: Context, draft: Draft, base: dict[str, Any]
) -> Intent:
    merged = merge_query(base, draft, reading)
    if draft.problems:
        return not_understood(reading, context, draft, instead=merged)
    if draft.questions:
        return ask_back(context, draft)
    if merged == base and reading.chart is None:
        return clarify(
            "I'm not sure what to change in the previous answer "
            f"({query_question(context.model, base).lower()}). What should be different?",
            [query_question(context.model, base)],
            reason="follow_up_unclear",
        )
    intent = checked(context, merged, reading, draft)
    intent.reason = "follow_up" if intent.kind == "metrics" else intent.reason
    return intent


def no_metric(reading: Reading, context: Context, draft: Draft) -> Intent:
    """Nothing to count was named: ask which measure (offering the usual ones)."""
    model = context.model
    if draft.empty and not reading.superlative and not reading.how_many and not reading.how_much:
        if reading.anaphora or reading.growth or reading.share or reading.compare_values:
            return clarify(
                "What should I look at? I can't tell what this refers to: ask about a measure "
                "(revenue, orders, units sold...) and, if you like, a period or a breakdown.",
                starter_questions(context),
                reason="nothing_named",
            )
        return clarify(
            "What would you like to know? Ask about a measure such as revenue, orders or units "
            "sold, for a period or broken down by channel, product, customer...",
            starter_questions(context),
            reason="nothing_named",
        )
    candidates = candidate_metrics(reading, draft)
    options = []
    for name in candidates:
        option = draft.query() | {"metrics": [name]}
        options.append(query_question(model, option))
    subject = "the best" if reading.superlative else "this"
    return clarify(
        f"Which measure do you mean for {subject}? For example "
        f"{', '.join(model.metrics[n].label.lower() for n in candidates[:3])}.",
        options,
        reason="which_metric",
    )


def candidate_metrics(reading: Reading, draft: Draft) -> list[str]:
    if reading.how_many:
        return ["orders", "units", "customers"]
    if reading.how_much:
        return ["revenue", "average_order_value", "gross_margin"]
    if any(d in ("product", "brand", "category", "department") for d in draft.by):
        return ["revenue", "units", "average_rating"]
    return ["revenue", "orders", "units"]


def starter_questions(context: Context) -> list[str]:
    return [
        "Revenue by channel last month",
        "Top 5 products by units sold this year",
        "Which products are often bought together?",
    ]


def ask_back(context: Context, draft: Draft) -> Intent:
    options = []
    for option in draft.options:
        if option.get("metrics"):
            options.append(query_question(context.model, option))
    return clarify(" ".join(draft.questions), options, reason="ambiguous")


def not_understood(
    reading: Reading, context: Context, draft: Draft, instead: dict[str, Any] | None = None
) -> Intent:
    """Words that matter were not understood: say what was, what wasn't, and offer the
    understood reading as a button when it is a whole question."""
    understood = instead or (draft.query() if draft.metrics else None)
    options = []
    if understood is not None and not reading.names:
        options.append(query_question(context.model, understood))
    unknown = listing(list(dict.fromkeys(draft.problems)))
    if understood is not None:
        said = query_question(context.model, understood).lower()
        text = (
            f"I understood {said}, but not {unknown}, so I won't guess. "
            "Is the question without it what you want?"
            if options
            else f"I can't answer that from your shop's data: I understood {said}, but "
            f"{unknown} is not something I know in this shop. Is there something about your "
            "own shop I can look up?"
        )
        return (clarify if options else decline_with)(text, options, reason="not_understood")
    return decline_with(
        f"I can't answer that from your shop's data: I don't know {unknown} here. Is there "
        "something about your own shop (revenue, orders, products, customers, reviews) I can "
        "look up?",
        starter_questions(context),
        reason="not_understood",
    )


def decline_with(text: str, options: list[str], *, reason: str) -> Intent:
    return decline(text, reason=reason, options=options)


def listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
