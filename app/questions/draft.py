"""From a reading to a semantic query (a draft): which mentions are the metrics asked for,
which are groupings, filters, context nouns; the period, grain, comparison, top N, share,
decimals. Every word the draft could not place is kept as a problem: the engine then asks
instead of answering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.questions.grammar import FUNCTION_WORDS
from app.questions.lexicon import Lexicon
from app.questions.reading import OPEN_DIMENSIONS, Mention, Reading
from app.questions.times import TimeSpec
from app.questions.words import Token
from app.semantic.errors import InvalidQuery
from app.semantic.model import SemanticModel
from app.semantic.periods import Calendar, Window, resolve_period
from app.semantic.values import DimensionValue

WEAK_METRICS = ("orders", "customers", "reviews")  # also the nouns of their entities
JOINERS = {"and", "or", ",", "&", "/", "the", "our", "of", "from", "in", "for", "with", "only"}
CONTEXT_PREPOSITIONS = {"from", "of", "in", "among", "for", "with", "by", "to", "across", "per"}
SELL_WORDS = {"sell", "sold", "selling", "sells", "seller"}
OPEN_LIMIT = 10  # rows of a ranking over many names when no number is given


@dataclass
class Draft:
    metrics: list[str] = field(default_factory=list)
    by: list[str] = field(default_factory=list)
    filters: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    period: TimeSpec | None = None
    grain: str | None = None
    compare: str | None = None
    top: int | None = None
    bottom: int | None = None
    order_by: str | None = None
    share: bool = False
    decimals: int | None = None
    problems: list[str] = field(default_factory=list)  # what stops an answer, in words
    questions: list[str] = field(default_factory=list)  # what to ask
    options: list[dict[str, Any]] = field(default_factory=list)  # queries to offer instead
    notes: list[str] = field(default_factory=list)  # assumptions to state
    words: list[str] = field(default_factory=list)  # what was understood, in words
    superlative_without_metric: bool = False
    ranked_without_group: int | None = None  # "top 5" with nothing to rank
    nouns_only: bool = False  # the metrics came from nouns ("orders") not asked to count

    @property
    def empty(self) -> bool:
        return not (
            self.metrics or self.by or self.filters or self.period or self.grain or self.top
        )

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {"metrics": list(self.metrics)}
        if self.by:
            query["by"] = list(self.by)
        if self.filters:
            query["filters"] = [
                {"dimension": d, "op": op, "values": values}
                for d, (op, values) in self.filters.items()
            ]
        if self.period is not None:
            if self.period.period is not None:
                query["period"] = self.period.period
            else:
                if self.period.from_date is not None:
                    query["from_date"] = self.period.from_date.isoformat()
                if self.period.to_date is not None:
                    query["to_date"] = self.period.to_date.isoformat()
        for key in ("grain", "compare", "top", "bottom", "order_by", "decimals"):
            if getattr(self, key) is not None:
                query[key] = getattr(self, key)
        if self.share:
            query["share"] = True
        return query


@dataclass
class Scene:
    """What the draft is built from: the model, the words, the calendar."""

    model: SemanticModel
    lexicon: Lexicon
    calendar: Calendar


def build_draft(reading: Reading, scene: Scene) -> Draft:
    draft = Draft(decimals=reading.decimals, share=reading.share)
    roles = assign_roles(reading, scene, draft)
    choose_metrics(reading, scene, draft, roles)
    place_values(reading, scene, draft, roles)
    choose_period(reading, scene, draft)
    shape(reading, scene, draft, roles)
    leftover_problems(reading, draft, roles)
    return draft


# ----- roles of the mentions -------------------------------------------------------------------


@dataclass
class Roles:
    metrics: list[Mention] = field(default_factory=list)  # candidates, in order
    grouped: list[str] = field(default_factory=list)
    order_by: list[str] = field(default_factory=list)
    values: list[Mention] = field(default_factory=list)
    context: list[Mention] = field(default_factory=list)
    unused: list[Mention] = field(default_factory=list)
    heads: set[int] = field(default_factory=set)
    time_groups: list[str] = field(default_factory=list)
    explicit_dimensions: set[str] = field(default_factory=set)


def head_positions(reading: Reading) -> set[int]:
    """Where the question's head noun stands: right after "top 5", "which", "what", "show"."""
    sentence, heads = reading.sentence, set()
    for token in sentence.tokens:
        tag = sentence.claims.get(token.index)
        starts = token.norm in ("which", "what") or (token.norm == "list" and token.index <= 2)
        if tag in ("top", "superlative") or starts:
            following = next_content(reading, token.index)
            if following is not None:
                heads.add(following.index)
    return heads


def next_content(reading: Reading, index: int) -> Token | None:
    for token in reading.sentence.tokens[index + 1 :]:
        tag = reading.sentence.claims.get(token.index)
        if token.kind == "punct" or tag in ("top", "superlative"):
            continue
        if token.norm in FUNCTION_WORDS and tag is None:
            continue
        return token
    return None


def adjacent(reading: Reading, left: Mention, right: Mention) -> bool:
    """Only joining words (and, or, commas, articles) between two mentions."""
    first, second = (left, right) if left.start < right.start else (right, left)
    between = reading.sentence.tokens[first.end : second.start]
    return all(t.norm in JOINERS or t.kind == "punct" for t in between) and len(between) <= 3


def preceded_by(reading: Reading, mention: Mention, words: set[str]) -> bool:
    index = mention.start - 1
    while index >= 0 and reading.sentence.tokens[index].norm in {"the", "our", "all", "its"}:
        index -= 1
    return index >= 0 and reading.sentence.tokens[index].norm in words


def assign_roles(reading: Reading, scene: Scene, draft: Draft) -> Roles:
    roles = Roles(heads=head_positions(reading))
    values = reading.of_kind("value")
    roles.values = values
    for mention in reading.mentions:
        if mention.kind == "value":
            continue
        if mention.kind == "time":
            if mention.start in reading.group_at:
                roles.time_groups.append(mention.names("time")[0])
            continue
        if mention.kind == "bundle":
            roles.unused.append(mention)
            continue
        dims = mention.names("dimension")
        counted = mention.start in reading.explicit_count and bool(mention.names("metric"))
        grouped = mention.start in reading.group_at or (
            mention.start in roles.heads and not counted
        )
        if dims:
            roles.explicit_dimensions.add(dims[0])
        if mention.kind == "metric" and condition_on(reading, mention):
            roles.unused.append(mention)  # "orders that had a discount": a condition
            continue
        if mention.kind == "metric" and not (dims and grouped):
            if mention.start in reading.group_at:
                roles.order_by += mention.names("metric")
            roles.metrics.append(mention)
            continue
        if dims and grouped and not mention.in_parens:
            roles.grouped.append(dims[0])
            continue
        if dims and any(adjacent(reading, mention, v) and own_value(v, dims[0]) for v in values):
            continue  # "the VIP segment", "web channel": the value's own dimension word
        if mention.in_parens or mention.names("entity"):
            roles.context.append(mention)
            continue
        roles.unused.append(mention)
    if not roles.grouped and (reading.top is not None or reading.descending is not None):
        population(reading, roles)
    # a dimension said again ("which customers... show their customer reference") is used
    roles.unused = [
        m for m in roles.unused if not any(d in roles.grouped for d in m.names("dimension"))
    ]
    return roles


HAVING_WORDS = {"had", "has", "have", "having", "with", "without", "got", "get", "gets"}


def condition_on(reading: Reading, mention: Mention) -> bool:
    """A metric word right after "had a", "with", "without": a condition on each row (orders
    that had a discount), which a metric query cannot express."""
    index = mention.start - 1
    tokens = reading.sentence.tokens
    articles = 0
    while index >= 0 and tokens[index].norm in {"a", "an", "any", "some", "no"}:
        index, articles = index - 1, articles + 1
    if index < 0 or reading.sentence.claims.get(index) is not None:
        return False
    word = tokens[index].norm  # "have customers written": an auxiliary, not a condition
    return word in ("with", "without") or (word in HAVING_WORDS and articles > 0)


def population(reading: Reading, roles: Roles) -> None:
    """ "among products that sold, which 5...": what is ranked is named after "among"."""
    for mention in reading.mentions:
        dims = mention.names("dimension")
        if dims and preceded_by(reading, mention, {"among", "amongst"}):
            roles.grouped.append(dims[0])
            roles.unused = [m for m in roles.unused if m is not mention]
            roles.context = [m for m in roles.context if m is not mention]
            roles.metrics = [m for m in roles.metrics if m is not mention]
            return


def own_value(mention: Mention, dimension: str) -> bool:
    return any(v.dimension == dimension for v in mention.values)


# ----- metrics -------------------------------------------------------------------------------


def is_weak(mention: Mention) -> bool:
    return bool(mention.names("entity")) and all(n in WEAK_METRICS for n in mention.names("metric"))


def choose_metrics(reading: Reading, scene: Scene, draft: Draft, roles: Roles) -> None:
    strong = [m for m in roles.metrics if not is_weak(m) and not m.in_parens]
    weak = [m for m in roles.metrics if is_weak(m) and not m.in_parens]
    asked: list[Mention] = list(strong)
    for mention in weak:
        explicit = mention.start in reading.explicit_count or counted_after_values(reading, mention)
        absorbed = any(
            adjacent(reading, v, mention) and v.start < mention.start for v in roles.values
        )
        context = preceded_by(reading, mention, CONTEXT_PREPOSITIONS)
        if explicit or (not strong and not asked and not absorbed and not context):
            asked.append(mention)
        else:
            roles.context.append(mention)
    if not asked and reading.how_many and not strong:
        asked = [m for m in weak if not preceded_by(reading, m, {"from", "of", "among"})][:1]
    draft.nouns_only = bool(asked) and all(
        is_weak(m) and m.start not in reading.explicit_count for m in asked
    )
    names: list[str] = []
    for mention in asked:
        name = mention.names("metric")[0]
        names.append(entity_count(reading, scene, draft, mention, name))
        if mention.fuzzy:
            label = scene.model.metrics[names[-1]].label.lower()
            draft.notes.append(f"I read “{mention.said}” as {label}.")
    if not names:
        names = implied_metric(reading, draft)
    if reading.any_status:
        names = [any_status_twin(scene, n, draft) for n in names]
    draft.metrics = list(dict.fromkeys(names))


def counted_after_values(reading: Reading, mention: Mention) -> bool:
    """ "how many web or mobile orders": the noun after the listed values is counted."""
    sentence = reading.sentence
    start = next(
        (t.index for t in sentence.tokens if sentence.claims.get(t.index) == "how_many"), None
    )
    if start is None or start >= mention.start:
        return False
    end = max(i for i, tag in sentence.claims.items() if tag == "how_many" and i >= start) + 1
    between = sentence.tokens[end : mention.start]
    return bool(between) and all(
        sentence.claims.get(t.index) == "value" or t.norm in JOINERS or t.kind == "punct"
        for t in between
    )


def entity_count(reading: Reading, scene: Scene, draft: Draft, mention: Mention, name: str) -> str:
    """A noun that names an entity counts that entity's rows when the metric of the same name
    counts something else (customers who bought, through orders) and nothing in the question
    is about buying or a period: "customers per country", "how many customers exist"."""
    entities = mention.names("entity")
    if not entities or name not in WEAK_METRICS:
        return name
    entity = entities[0]
    counter = scene.lexicon.entity_counts.get(entity)
    own = scene.lexicon.metric_entities.get(name)
    if counter is None or own == entity:
        return name
    if reading.existence or (not reading.times.periods and not reading.purchase):
        return counter
    return name


def implied_metric(reading: Reading, draft: Draft) -> list[str]:
    """No metric named: "how many ... sold" asks for units, "how much ... sold" for revenue."""
    words = {t.norm for t in reading.sentence.tokens}
    if reading.superlative and reading.superlative.endswith(("rated", "reviewed")):
        return ["average_rating"]  # "the 3 worst-rated brands"
    if words & SELL_WORDS and reading.how_many:
        return ["units"]
    if words & SELL_WORDS and reading.how_much:
        return ["revenue"]
    if reading.superlative and not reading.how_many:
        draft.superlative_without_metric = True
    return []


def any_status_twin(scene: Scene, name: str, draft: Draft) -> str:
    """The same count without the metric's status filter ("orders of any status")."""
    metric = scene.model.metrics[name]
    for other in scene.model.public_metrics:
        if (
            other.entity == metric.entity
            and other.measure is not None
            and metric.measure is not None
            and other.measure.text == metric.measure.text
            and not other.filters
            and metric.filters
        ):
            return other.name
    if metric.filters:
        draft.problems.append(f"“any status” for {metric.label.lower()}")
    return name


# ----- values as filters -----------------------------------------------------------------------


def place_values(reading: Reading, scene: Scene, draft: Draft, roles: Roles) -> None:
    excluded = exclusions(reading)
    for mention in roles.values:
        if mention.in_parens and not draft.metrics:
            continue
        choice = choose_dimension(scene, draft, roles, mention.values)
        if choice is None:
            options = sorted({v.dimension for v in mention.values})
            draft.questions.append(
                f"“{mention.said}” is a value of several things here "
                f"({', '.join(scene.model.dimension(d).label for d in options)}): which one?"
            )
            for dimension in options:
                option = draft.query() | {
                    "filters": [{"dimension": dimension, "values": [mention.said]}]
                }
                draft.options.append(option)
            continue
        op = "not_in" if mention.start in excluded else "in"
        current_op, current = draft.filters.get(choice, (op, []))
        values = [v.label for v in mention.values if v.dimension == choice]
        draft.filters[choice] = (current_op, [*current, *values[:1]])
    used = {token.index for token in excluded.values()}
    reading.critical = [t for t in reading.critical if t.index not in used]


def exclusions(reading: Reading) -> dict[int, Token]:
    """Values right after "not", "excluding", "except", "other than": excluded."""
    found: dict[int, Token] = {}
    for token in reading.critical:
        if token.norm in ("not", "excluding", "except", "without", "exclude", "non"):
            following = reading.sentence.tokens[token.index + 1 : token.index + 3]
            for mention in reading.of_kind("value"):
                if following and mention.start in (following[0].index, following[-1].index):
                    found[mention.start] = token
    return found


def choose_dimension(
    scene: Scene, draft: Draft, roles: Roles, values: list[DimensionValue]
) -> str | None:
    """The dimension a value belongs to here: one named in the question, one every metric
    allows, the one nearest the metric's table, a closed list before a list of names."""
    candidates = list(dict.fromkeys(v.dimension for v in values))
    if len(candidates) == 1:
        return candidates[0]
    named = [c for c in candidates if c in roles.explicit_dimensions or c in roles.grouped]
    if len(named) == 1:
        return named[0]
    allowed = [
        c for c in candidates if all(c in scene.model.allowed_dimensions(m) for m in draft.metrics)
    ]
    candidates = allowed or candidates
    if len(candidates) > 1 and draft.metrics:
        distance = {c: distance_to(scene, draft.metrics, c) for c in candidates}
        nearest = min(distance.values())
        candidates = [c for c in candidates if distance[c] == nearest]
    if len(candidates) > 1:
        closed = [c for c in candidates if c not in OPEN_DIMENSIONS]
        candidates = closed or candidates
    return candidates[0] if len(candidates) == 1 else None


def distance_to(scene: Scene, metrics: list[str], dimension: str) -> int:
    model = scene.model
    best = 99
    for name in metrics:
        for part in model.parts(model.metrics[name]):
            if part.entity is None:
                continue
            reach = model.graph.reachable(part.entity)
            for entity in model.dimension(dimension).entities:
                if entity in reach:
                    best = min(best, len(reach[entity]))
    return best


# ----- time ------------------------------------------------------------------------------------


def choose_period(reading: Reading, scene: Scene, draft: Draft) -> None:
    periods = reading.times.periods
    draft.grain = reading.times.grain
    draft.compare = reading.times.compare
    if not periods:
        return
    windows = [window_of(scene, spec) for spec in periods]
    if any(w is None for w in windows):
        bad = [p.said for p, w in zip(periods, windows, strict=True) if w is None]
        draft.problems.append(f"the period “{bad[0]}”")
        return
    if len({(w.start, w.end) for w in windows if w is not None}) > 1:
        said = [p.said for p in periods]
        draft.questions.append(f"Which period did you mean: {' or '.join(said)}?")
        for spec in periods:
            draft.options.append({**draft.query(), **period_fields(spec)})
        return
    draft.period = periods[0]


def window_of(scene: Scene, spec: TimeSpec) -> Window | None:
    try:
        if spec.period is not None:
            period = resolve_period(spec.period, scene.calendar)
        else:
            period = resolve_period(
                None, scene.calendar, from_date=spec.from_date, to_date=spec.to_date
            )
    except InvalidQuery:
        return None
    return period.window or Window(None, scene.calendar.now)


def period_fields(spec: TimeSpec) -> dict[str, Any]:
    if spec.period is not None:
        return {"period": spec.period}
    fields: dict[str, Any] = {}
    if spec.from_date is not None:
        fields["from_date"] = spec.from_date.isoformat()
    if spec.to_date is not None:
        fields["to_date"] = spec.to_date.isoformat()
    return fields


def trend_grain(scene: Scene, spec: TimeSpec | None) -> str:
    """The grain of "over time": days for a month or less, weeks up to half a year, months."""
    window = window_of(scene, spec) if spec is not None else None
    if window is None or window.start is None:
        return "month"
    days = (window.end - window.start).days
    return "day" if days <= 62 else "week" if days <= 190 else "month"


# ----- shape -----------------------------------------------------------------------------------


def shape(reading: Reading, scene: Scene, draft: Draft, roles: Roles) -> None:
    draft.by = list(dict.fromkeys(roles.grouped + roles.time_groups))
    if draft.grain == "trend":
        draft.grain = trend_grain(scene, draft.period)
    if reading.compare_values and not draft.by:  # "web vs mobile": side by side
        compared = [d for d, (op, values) in draft.filters.items() if len(values) > 1]
        draft.by = compared[:1]
    if reading.growth and draft.compare is None:
        draft.compare = "previous"
    if draft.compare is not None and draft.period is None:
        draft.questions.append("Compared over which period?")
        for period in ("this-month", "last-month", "this-year"):
            draft.options.append({**draft.query(), "period": period, "compare": draft.compare})
    ranking(reading, scene, draft, roles)
    if draft.share and not draft.by:
        inside = [d for d, (op, values) in draft.filters.items() if op == "in"]
        if inside:  # "what share of revenue comes from VIP customers": all segments' shares
            draft.by = inside[:1]
            draft.notes.append(
                f"Shares of every {scene.model.dimension(inside[0]).label}, "
                f"{', '.join(draft.filters[inside[0]][1])} among them."
            )
            del draft.filters[inside[0]]
    if roles.order_by and len(draft.metrics) > 1:
        draft.order_by = next((m for m in roles.order_by if m in draft.metrics), None)


def ranking(reading: Reading, scene: Scene, draft: Draft, roles: Roles) -> None:
    if reading.top is None and reading.descending is None:
        return
    if len(draft.by) > 1:  # "for each brand, which product sells most": a ranking per group
        label = scene.model.dimension(draft.by[0]).label
        draft.problems.append(f"a ranking within each {label}")
        return
    descending = reading.descending is not False
    limit = reading.top
    if limit is None:  # "which country has the most": one; "which brands sell best": ten
        plural = any(
            m.plural
            for m in reading.mentions
            if m.start in roles.heads and set(m.names("dimension")) & set(draft.by)
        )
        limit = OPEN_LIMIT if plural else 1
    if not draft.by and not draft.grain:
        draft.ranked_without_group = limit  # a follow-up ranks the previous rows
        return
    if descending:
        draft.top = limit
    else:
        draft.bottom = limit
    targets = superlative_targets(reading, draft)
    if targets and len(draft.metrics) > 1:
        draft.order_by = targets[0]


def superlative_targets(reading: Reading, draft: Draft) -> list[str]:
    """The metric a superlative is about ("the highest average rating")."""
    found: list[str] = []
    for token in reading.sentence.tokens:
        if reading.sentence.claims.get(token.index) != "superlative":
            continue
        for mention in reading.of_kind("metric"):
            if 0 < mention.start - token.index <= 2:
                found += [n for n in mention.names("metric") if n in draft.metrics]
    return found


# ----- what could not be placed ---------------------------------------------------------------


def leftover_problems(reading: Reading, draft: Draft, roles: Roles) -> None:
    averaged = any("average" in m for m in draft.metrics)
    for token in reading.critical:
        if averaged and token.norm in ("average", "mean"):
            continue  # "the average review rating": the metric is an average
        draft.problems.append(f"“{token.text}”")
    for token in reading.names:
        name = token.text.removesuffix("'s").removesuffix("\u2019s")
        draft.problems.append(f"“{name}”")
    for token in reading.unknown:
        draft.problems.append(f"“{token.text}”")
    for mention in roles.unused:
        draft.problems.append(f"“{mention.said}”")
    for token in reading.sentence.tokens:  # "orders over $100": a price is no metric filter
        if reading.sentence.claims.get(token.index) in ("price", "stock"):
            draft.problems.append(f"“{token.text}”")
