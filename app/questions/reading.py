"""Reading a question: which words name metrics, dimensions, the shop's values and periods,
which make its shape (top 5, by channel, vs, share of, rounded to 2 decimals...), and which
words were not understood. Longest phrases first; each word is read once.

``read`` is pure given the lexicon, the shop's values index and today's date."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.questions import grammar as g
from app.questions.lexicon import MAX_WORDS, Lexicon, Sense
from app.questions.sentence import Found, Sentence
from app.questions.times import TimeReading, read_times
from app.questions.words import Token, singular
from app.semantic.values import DimensionValue, ValuesIndex, normal

# dimensions whose values are open lists of names (many, and some are common words): a
# single lower-case word is not read as one of their values
OPEN_DIMENSIONS = frozenset(
    {"brand", "product", "customer", "shipping_city", "customer_city", "shipping_region"}
    | {"customer_region"}
)
PURCHASE_WORDS = g.words(
    "bought buy buying purchased purchase purchasing ordered order spent spend shopped paid pay"
)


@dataclass
class Mention:
    start: int
    end: int
    kind: str  # metric | dimension | time | entity | bundle | value
    senses: list[Sense] = field(default_factory=list)
    values: list[DimensionValue] = field(default_factory=list)
    said: str = ""
    fuzzy: bool = False
    in_parens: bool = False
    plural: bool = False

    def names(self, kind: str | None = None) -> list[str]:
        return [s.name for s in self.senses if kind is None or s.kind == kind]


@dataclass
class Reading:
    sentence: Sentence
    times: TimeReading
    mentions: list[Mention] = field(default_factory=list)
    top: int | None = None
    descending: bool | None = None  # a superlative without a number ("the most")
    superlative: str | None = None
    numbered: bool = False  # "which 5 ..." (a count of rows)
    group_at: set[int] = field(default_factory=set)  # token indexes right after a group marker
    split_words: bool = False  # "break down by", "split by": add to the grouping
    compare_values: bool = False  # "web vs mobile"
    share: bool = False
    growth: bool = False
    chart: str | None = None  # "auto" or a kind
    table: bool = False
    decimals: int | None = None
    time_descending: bool | None = None
    how_many: bool = False
    how_much: bool = False
    existence: bool = False
    any_status: bool = False
    bundle: bool = False
    bundle_sides: bool = False
    bundle_limits: dict[str, float] = field(default_factory=dict)  # min_lift, min_confidence
    bundle_average: bool = False
    search: bool = False
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool = False
    follow_up: bool = False
    instead: bool = False
    explicit_count: set[int] = field(default_factory=set)  # token index of "number of X" nouns
    unknown: list[Token] = field(default_factory=list)  # content words not understood
    critical: list[Token] = field(default_factory=list)  # negations, conditions not understood
    names: list[Token] = field(default_factory=list)  # names we do not know ("Amazon's")
    anaphora: list[Token] = field(default_factory=list)
    purchase: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.sentence.text

    def of_kind(self, kind: str) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind]

    @property
    def fuzzy(self) -> list[Mention]:
        return [m for m in self.mentions if m.fuzzy]


def read(question: str, lexicon: Lexicon, index: ValuesIndex, today: date) -> Reading:
    sentence = Sentence(question)
    reading = Reading(sentence, read_times(sentence, today))
    for step in (shapes, prices, bundles):
        step(reading)
    phrases(reading, lexicon, index, smallest=2)  # "top-level category" before "top 5"
    for step in (tops, counting, markers):
        step(reading)
    phrases(reading, lexicon, index)
    split_value_lists(reading, lexicon, index)
    leftovers(reading, lexicon, index)
    return reading


# ----- shapes ----------------------------------------------------------------------------------


def claim_all(reading: Reading, pattern: str, tag: str, *, parens: bool = True) -> list[Found]:
    found = list(reading.sentence.find(pattern))
    if not parens:
        found = [item for item in found if outside(reading, item)]
    for item in found:
        reading.sentence.claim(item.start, item.end, tag)
    return found


def shapes(reading: Reading) -> None:
    claim_all(reading, g.VERB_NOT_STATUS, "no_op")
    if claim_all(reading, g.SEARCH_PATTERN, "search"):
        reading.search = True
    if claim_all(reading, g.ANY_STATUS_PATTERN, "any_status"):
        reading.any_status = True
    for pattern in g.NO_OP_PATTERNS:
        claim_all(reading, pattern, "no_op")
    for pattern, descending in g.ORDER_PATTERNS.items():
        if claim_all(reading, pattern, "order"):
            reading.time_descending = descending
    for found in claim_all(reading, g.DECIMALS_PATTERN, "decimals"):
        reading.decimals = int(found.groups[0]) if found.groups[0] else 0
    for found in claim_all(reading, g.CHART_PATTERN, "chart"):
        kind = next((k for k in g.CHART_KINDS if k in found.text.split()), None)
        reading.chart = g.CHART_KINDS[kind] if kind else "auto"
    if claim_all(reading, r"(?:as |in )?(?:a )?table", "table"):
        reading.table = True
    if claim_all(reading, g.SHARE_PATTERN, "share"):
        reading.share = True
    if claim_all(reading, g.EXISTENCE_PATTERN, "existence"):
        reading.existence = True
    if claim_all(reading, g.FOLLOW_UP_STARTS, "follow_up"):
        reading.follow_up = True
    if claim_all(reading, r"instead(?: of that)?|rather", "instead"):
        reading.instead = reading.follow_up = True
    if claim_all(
        reading, r"(?:how (?:many|often)|number of|count of|amount of|total number of)", "how_many"
    ):
        reading.how_many = True
    if claim_all(reading, r"how much", "how_much"):
        reading.how_much = True
    if claim_all(reading, r"(?:go(?:ne)? |went )(?:up|down)|up or down", "growth"):
        reading.growth = True
    growth = "|".join(sorted(g.GROWTH_WORDS))
    if claim_all(reading, rf"(?:{growth})(?: in| of)?", "growth"):
        reading.growth = True


def prices(reading: Reading) -> None:
    for pattern, bound in g.PRICE_PATTERNS.items():
        for found in claim_all(reading, pattern, "price"):
            amounts = [float(x) for x in found.groups if x is not None]
            if bound == "range" and len(amounts) == 2:
                reading.min_price, reading.max_price = min(amounts), max(amounts)
            elif bound == "max":
                reading.max_price = amounts[0]
            elif bound == "min":
                reading.min_price = amounts[0]
    if claim_all(
        reading,
        r"(?:that )?(?:is |are |we have )?(?:currently |still )?in stock"
        r"(?: now| right now)?|available (?:now|right now|to ship)",
        "stock",
    ):
        reading.in_stock = True


def bundles(reading: Reading) -> None:
    if claim_all(reading, g.BUNDLE_PATTERN, "bundle"):
        reading.bundle = True
    if claim_all(reading, g.BUNDLE_SIDES, "bundle_side"):
        reading.bundle_sides = True
    if reading.bundle:
        if claim_all(reading, r"(?:average|mean|typical) (?:lift|confidence|support)", "avg"):
            reading.bundle_average = True
        claim_all(reading, r"(?:both|the 2|2|the) (?:sku|product|item|side)s?", "columns")
    measure = r"(lift|confidence|support)"
    amount = r"(\d+(?:\.\d+)?)(%)?"
    words = r"(at least|above|over|more than|greater than|>=|no less than|from)"
    limit = measure + r"(?: (?:of|score of|value of|is|at))? (?:of )?" + words + " " + amount
    for found in claim_all(reading, limit, "bundle_limit"):
        set_limit(reading, found.groups[0], found.groups[2], found.groups[3], found.groups[1])
    after = r"(?:an? )?" + measure + r"(?: (?:of|above|over))? " + amount
    after += r" (?:or (?:more|higher|above|greater)|and (?:above|up|more)|\+)"
    for found in claim_all(reading, after, "bundle_limit"):
        set_limit(reading, found.groups[0], found.groups[1], found.groups[2])
    before = words + " " + amount + " " + measure
    for found in claim_all(reading, before, "bundle_limit"):
        set_limit(reading, found.groups[3], found.groups[1], found.groups[2], found.groups[0])


STRICT = ("above", "over", "more than", "greater than")  # "at least", "or more": inclusive


def set_limit(reading: Reading, measure: Any, amount: Any, percent: Any, word: Any = None) -> None:
    value = float(amount)
    if percent and measure != "lift":
        value /= 100
    reading.bundle_limits[f"min_{measure}"] = value
    if word in STRICT:
        reading.bundle_limits["exclusive"] = True
    reading.bundle = True


def outside(reading: Reading, found: Found) -> bool:
    return not any(t.in_parens for t in reading.sentence.tokens[found.start : found.end])


def tops(reading: Reading) -> None:
    """ "top 5", "5 best", "which 5", "the most", "lowest": a ranking (never inside
    parentheses, which explain rather than ask)."""
    superlatives = g.SUPERLATIVE_PATTERN
    for found in claim_all(reading, r"(top|bottom|best|worst) (\d+)", "top", parens=False):
        reading.top, reading.numbered = int(float(str(found.groups[1]))), True
        reading.descending = found.groups[0] in ("top", "best")
    participle = r"(?: (selling|seller|performing|rated|reviewed))?"
    for found in claim_all(reading, rf"(\d+) ({superlatives}){participle}", "top", parens=False):
        reading.top, reading.numbered = int(float(str(found.groups[0]))), True
        reading.descending = found.groups[1] in g.DESCENDING
        if found.groups[2]:  # "the 3 worst-rated": ranked by rating
            reading.superlative = f"{found.groups[1]} {found.groups[2]}"
    for found in claim_all(
        reading, r"(?:which|what|the|our|show|list|give me|name) (\d+)(?= \S)", "top", parens=False
    ):
        reading.top, reading.numbered = int(float(str(found.groups[0]))), True
    for found in claim_all(
        reading,
        rf"({superlatives}) (selling|seller|performing|rated|reviewed)",
        "superlative",
        parens=False,
    ):
        reading.descending = found.groups[0] in g.DESCENDING
        reading.superlative = f"{found.groups[0]} {found.groups[1]}"
    for found in claim_all(reading, rf"(?:the )?({superlatives})", "superlative", parens=False):
        word = str(found.groups[0])
        if reading.descending is None:
            reading.descending = word in g.DESCENDING
        reading.superlative = reading.superlative or word
    if claim_all(
        reading, r"(?:in )?(?:descending|decreasing) order|high(?:est)? to low(?:est)?", "order"
    ):
        reading.descending = True
    if claim_all(
        reading, r"(?:in )?(?:ascending|increasing) order|low(?:est)? to high(?:est)?", "order"
    ):
        reading.descending = False


def counting(reading: Reading) -> None:
    """ "number of reviews", "the most customers", "most of our customers": the noun after it
    is what is counted."""
    for token in reading.sentence.tokens:
        if reading.sentence.claims.get(token.index) in ("how_many", "superlative"):
            following = next_word(reading, token.index)
            if following is not None:
                reading.explicit_count.add(following.index)


def next_word(reading: Reading, index: int) -> Token | None:
    skip = {"the", "our", "a", "an", "all", "total", "distinct", "different", "unique", "of"}
    for token in reading.sentence.tokens[index + 1 :]:
        if token.kind == "punct":
            return None
        if token.norm in skip:
            continue
        return token
    return None


def markers(reading: Reading) -> None:
    """Grouping markers ("by", "per", "for each", "broken down by"): the word after one is
    grouped by (or ordered by, when it is a metric)."""
    for pattern in g.GROUP_MARKERS:
        for found in list(reading.sentence.find(pattern)):
            following = next_word(reading, found.end - 1)
            if following is None:
                continue
            reading.sentence.claim(found.start, found.end, "group")
            reading.group_at.add(following.index)
            if re.match(r"break|broken|split|group|breakdown|segmented|sliced|divided", found.text):
                reading.split_words = True
    if claim_all(reading, g.COMPARE_MARKERS, "compare"):
        reading.compare_values = True


# ----- phrases: the model's words and the shop's values ---------------------------------------


def phrases(reading: Reading, lexicon: Lexicon, index: ValuesIndex, smallest: int = 1) -> None:
    sentence = reading.sentence
    for size in range(MAX_WORDS, smallest - 1, -1):
        for start, end in sentence.runs():
            for begin in range(start, end - size + 1):
                stop = begin + size
                if any(sentence.claimed(i) for i in range(begin, stop)):
                    continue
                mention = phrase_at(reading, lexicon, index, begin, stop)
                if mention is not None:
                    reading.mentions.append(mention)
                    sentence.claim(begin, stop, mention.kind)
    reading.mentions.sort(key=lambda m: m.start)


def phrase_at(
    reading: Reading, lexicon: Lexicon, index: ValuesIndex, begin: int, stop: int
) -> Mention | None:
    sentence = reading.sentence
    tokens = sentence.tokens[begin:stop]
    norm = " ".join(t.norm for t in tokens)
    lemma = " ".join(t.lemma for t in tokens)
    parens = all(t.in_parens for t in tokens)
    plural = tokens[-1].norm != tokens[-1].lemma
    senses = lexicon.lookup(norm, lemma)
    said = sentence.raw(begin, stop)
    if senses:
        kinds = {s.kind for s in senses}
        kind = "metric" if "metric" in kinds else sorted(kinds)[0]
        if kinds == {"dimension", "entity"} or kinds == {"entity"}:
            kind = "dimension" if "dimension" in kinds else "entity"
        return Mention(begin, stop, kind, senses, said=said, in_parens=parens, plural=plural)
    values = value_names(index, said, tokens)
    if values:
        return Mention(begin, stop, "value", values=values, said=said, in_parens=parens)
    return None


def value_names(index: ValuesIndex, said: str, tokens: list[Token]) -> list[DimensionValue]:
    """The shop's values a span names (as written, or with its last word singular or
    plural); one lower-case word is not a brand, city or name."""
    key = normal(said)
    words = key.split()
    found = index.by_name.get(key) or []
    if not found and words:
        last = words[-1]
        for variant in (singular(last), last + "s"):
            found = index.by_name.get(" ".join([*words[:-1], variant])) or []
            if found:
                break
    if len(tokens) == 1 and not (tokens[0].upper or tokens[0].kind == "code"):
        found = [v for v in found if v.dimension not in OPEN_DIMENSIONS]
    return list(found)


def split_value_lists(reading: Reading, lexicon: Lexicon, index: ValuesIndex) -> None:
    """ "paid, shipped and delivered orders": a list of values, then their noun; not the metric
    "delivered orders" after two values."""
    for mention in list(reading.mentions):
        if mention.kind != "metric" or mention.end - mention.start < 2:
            continue
        first = reading.sentence.tokens[mention.start]
        values = index.by_name.get(first.norm) or []
        listed = [
            m
            for m in reading.of_kind("value")
            if m.end <= mention.start and listed_before(reading, m, mention)
        ]
        shared = {v.dimension for v in values} & {v.dimension for m in listed for v in m.values}
        if not shared:
            continue
        rest = reading.sentence.tokens[mention.start + 1 : mention.end]
        senses = lexicon.lookup(" ".join(t.norm for t in rest), " ".join(t.lemma for t in rest))
        if not senses:
            continue
        reading.mentions.remove(mention)
        value = Mention(
            mention.start,
            mention.start + 1,
            "value",
            values=list(values),
            said=first.text,
            in_parens=first.in_parens,
        )
        kind = "metric" if any(s.kind == "metric" for s in senses) else senses[0].kind
        noun = Mention(
            mention.start + 1,
            mention.end,
            kind,
            senses=senses,
            said=" ".join(t.text for t in rest),
            in_parens=first.in_parens,
            plural=rest[-1].norm != rest[-1].lemma,
        )
        reading.mentions += [value, noun]
    reading.mentions.sort(key=lambda m: m.start)


def listed_before(reading: Reading, value: Mention, mention: Mention) -> bool:
    between = reading.sentence.tokens[value.end : mention.start]
    return all(t.norm in {",", "and", "or", "&", "/"} or t.kind == "punct" for t in between) and (
        len(between) <= 2
    )


# ----- what is left --------------------------------------------------------------------------


def leftovers(reading: Reading, lexicon: Lexicon, index: ValuesIndex) -> None:
    sentence = reading.sentence
    for token in sentence.free_words():
        if token.norm in PURCHASE_WORDS or token.lemma in PURCHASE_WORDS:
            reading.purchase = True
        if token.kind != "word" and token.kind != "code":
            if token.in_parens:
                continue
            reading.critical.append(token)  # a number or date that is no part of anything
            continue
        fuzzy = lexicon.fuzzy(token.lemma) if not token.upper else []
        if fuzzy:
            kind = "metric" if any(s.kind == "metric" for s in fuzzy) else fuzzy[0].kind
            reading.mentions.append(
                Mention(token.index, token.index + 1, kind, fuzzy, said=token.text, fuzzy=True)
            )
            sentence.claim(token.index, token.index + 1, "fuzzy")
            continue
        classify(reading, token)
    reading.mentions.sort(key=lambda m: m.start)


def classify(reading: Reading, token: Token) -> None:
    norm = token.norm.strip("'")
    if norm in g.NEGATIONS or norm.endswith("n't"):
        if not token.in_parens:
            reading.critical.append(token)
        return
    if norm in g.ANAPHORA:
        reading.anaphora.append(token)
        return
    if norm in g.CONDITIONS:
        if not token.in_parens:
            reading.critical.append(token)
        return
    if norm in g.FUNCTION_WORDS or token.lemma in g.FUNCTION_WORDS:
        return
    if token.in_parens:
        return
    if token.upper or token.possessive or token.kind == "code":
        reading.names.append(token)
        return
    reading.unknown.append(token)
