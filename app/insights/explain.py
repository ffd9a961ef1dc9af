"""Why a number changed: the change of a metric between a period and the one before (or a year
earlier), decomposed by each dimension the metric allows, the drivers ranked.

- A metric that adds up over groups (revenue, units, orders...): each value's contribution is
  its own change. Ranked by how far it moved beyond its share of the change (its change minus
  what it would have moved had it followed the total): a region that fell alone outranks the
  country it is in, and a channel that merely shrank with everything else ranks nowhere.
- A rate (a derived metric ``numerator / denominator``: AOV, conversion, margin %, refund
  rate...): the change splits per value into a mix effect (its share of the denominator moved:
  more orders from a channel with a higher AOV) and a rate effect (its own rate moved),
  symmetric (midpoint) weights so that the effects of all values add up to the change exactly.

Every number comes from semantic queries (``MetricSource``); nothing here writes SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlglot import exp

from app.errors import BichatError, InvalidInput
from app.insights import numbers
from app.insights.source import MetricSource, Rows
from app.semantic.model import Metric, SemanticModel

COMPARES = ("previous", "year")
# status is a lifecycle (last week's orders are "paid", older ones "delivered"), not a cause;
# customers are people, not segments
SKIPPED_DIMENSIONS = frozenset({"status", "customer"})
TOP_DRIVERS = 10
OFFSETS = 3
Query = dict[str, Any]  # a semantic query, as the layer takes it
RatioParts = tuple[exp.Expr, exp.Expr] | None  # a ratio's numerator and denominator
SHRINK = 0.02  # rates of small groups are pulled toward the level (see ``shrunk``)
MIN_WEIGHT = 0.03  # drivers moving less than 3% of the change (beyond their share) are noise
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Driver:
    """One value of one dimension and its part of the change (in the metric's units: money,
    count, percentage points...)."""

    dimension: str
    dimension_label: str
    value: str
    previous: float | None
    current: float | None
    contribution: float  # change this value accounts for
    share_of_change: float | None  # contribution / the change (1.0 = all of it)
    score: float  # the part of the change only this value explains (the rank; same units)
    effect: str  # "volume" (adds up), "mix" or "rate" (rates)
    mix: float | None = None
    rate: float | None = None
    weight_previous: float | None = None  # rates: share of the denominator
    weight_current: float | None = None
    depth: int = 0  # how many parents its dimension has (region 1, city 2)

    @property
    def change_pct(self) -> float | None:
        if self.previous is None or self.current is None or self.previous == 0:
            return None
        return 100 * (self.current - self.previous) / abs(self.previous)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "depth"}
        return data | {"change_pct": rounded(self.change_pct)}


@dataclass
class Explanation:
    metric: str
    label: str
    format: str
    kind: str  # "additive" or "ratio"
    period: dict[str, Any]
    comparison: dict[str, Any]
    previous: float | None
    current: float | None
    change: float | None
    change_pct: float | None
    drivers: list[Driver]
    offsets: list[Driver]  # values that moved against the change
    dimensions: list[str]  # the dimensions the change was decomposed by
    skipped: list[str] = field(default_factory=list)  # dimensions whose query ran out of time
    text: str = ""
    sql: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("drivers", "offsets")}
        return data | {
            "drivers": [d.to_dict() for d in self.drivers],
            "offsets": [d.to_dict() for d in self.offsets],
        }


def rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


# ----- the arithmetic --------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A value of a dimension in the earlier and the later period."""

    value: str
    previous: float
    current: float


def additive_drivers(dimension: str, label: str, pairs: Sequence[Pair]) -> list[Driver]:
    """Each value's change against the rest's trend: had it moved like the other values,
    the total would have changed by ``contribution - explained`` less. The score weights that
    by how specific the value is (1 - its prior share): a region that fell alone outranks
    its country, and a value that is all of the total explains nothing."""
    total_before = sum(p.previous for p in pairs)
    total_change = sum(p.current - p.previous for p in pairs)
    drivers = []
    for pair in pairs:
        change = pair.current - pair.previous
        rest_before = total_before - pair.previous
        rest_rate = (total_change - change) / rest_before if rest_before > 0 else 0.0
        explained = change - pair.previous * rest_rate
        share_before = pair.previous / total_before if total_before > 0 else 0.0
        drivers.append(
            Driver(
                dimension=dimension,
                dimension_label=label,
                value=pair.value,
                previous=pair.previous,
                current=pair.current,
                contribution=change,
                share_of_change=change / total_change if total_change else None,
                score=explained * (1 - share_before),
                effect="volume",
            )
        )
    return drivers


@dataclass(frozen=True)
class RatePair:
    """A value's numerator and denominator in both periods."""

    value: str
    numerator_before: float
    denominator_before: float
    numerator_after: float
    denominator_after: float


@dataclass(frozen=True)
class Effects:
    """A value's weights (shares of the denominator), rates, and mix and rate effects."""

    w0: float
    w1: float
    r0: float | None
    r1: float | None
    mix: float
    rate: float


def effects(pairs: Sequence[RatePair], *, shrink: bool) -> list[tuple[RatePair, Effects]]:
    """Midpoint (Shapley) split of each value's part of the change: mix = its weight's change
    times its rate's distance from the level; rate = its rate's change times its mean weight.
    Summed over the values they make the change exactly (unless ``shrink``: rates of small
    groups pulled toward the level, for ranking only)."""
    before = sum(p.denominator_before for p in pairs)
    after = sum(p.denominator_after for p in pairs)
    if not before or not after:
        return []
    level_before = sum(p.numerator_before for p in pairs) / before
    level_after = sum(p.numerator_after for p in pairs) / after
    level = (level_before + level_after) / 2
    found = []
    for pair in pairs:
        rate_before = rate_of(
            pair.numerator_before, pair.denominator_before, before, level_before, shrink
        )
        rate_after = rate_of(
            pair.numerator_after, pair.denominator_after, after, level_after, shrink
        )
        if rate_before is None and rate_after is None:
            continue
        r0 = rate_before if rate_before is not None else rate_after
        r1 = rate_after if rate_after is not None else rate_before
        assert r0 is not None and r1 is not None
        w0, w1 = pair.denominator_before / before, pair.denominator_after / after
        mix = (w1 - w0) * ((r0 + r1) / 2 - level)
        rate = (w0 + w1) / 2 * (r1 - r0)
        found.append((pair, Effects(w0, w1, rate_before, rate_after, mix, rate)))
    return found


def rate_of(
    numerator: float, denominator: float, total: float, level: float, shrink: bool
) -> float | None:
    """A value's rate; with ``shrink`` pulled toward the overall level as if it had ``SHRINK``
    of the total denominator more at that level: a handful of orders with one dear basket is
    not a rate change (empirical-Bayes shrinkage; a large group keeps its own rate)."""
    if not denominator:
        return None
    prior = SHRINK * total if shrink else 0.0
    return (numerator + prior * level) / (denominator + prior)


def ratio_drivers(
    dimension: str, label: str, pairs: Sequence[RatePair], scale: float
) -> list[Driver]:
    """Mix and rate effects per value (``scale``: 100 for percentages, else 1), ranked by the
    part beyond a rate change shared by all, with small groups' rates shrunk."""
    exact = effects(pairs, shrink=False)
    steady = dict((p.value, e) for p, e in effects(pairs, shrink=True))
    all_rate = sum(e.rate for e in steady.values())
    total = sum(e.mix + e.rate for _, e in exact)
    drivers = []
    for pair, e in exact:
        s = steady[pair.value]
        contribution = e.mix + e.rate
        drivers.append(
            Driver(
                dimension=dimension,
                dimension_label=label,
                value=pair.value,
                previous=None if e.r0 is None else e.r0 * scale,
                current=None if e.r1 is None else e.r1 * scale,
                contribution=contribution * scale,
                share_of_change=contribution / total if total else None,
                score=(s.mix + s.rate - (s.w0 + s.w1) / 2 * all_rate) * scale,
                effect="mix" if abs(e.mix) > abs(e.rate) else "rate",
                mix=e.mix * scale,
                rate=e.rate * scale,
                weight_previous=e.w0,
                weight_current=e.w1,
            )
        )
    return drivers


def ranked(drivers: Sequence[Driver], change: float | None, top: int) -> list[Driver]:
    """The values that moved the total the way it went, largest score first; the ones that
    barely moved are left out."""
    direction = 1 if (change or 0) >= 0 else -1
    if change:
        drivers = [d for d in drivers if d.score * direction > 0]
    ordered = sorted(drivers, key=rank_key)
    if not ordered:
        return []
    scale = abs(change) if change else abs(ordered[0].score)
    return [d for d in ordered if scale and abs(d.score) >= MIN_WEIGHT * scale][:top]


def rank_key(driver: Driver) -> tuple[float, int, str, str]:
    """Largest score first; on a tie (Berlin the region and Berlin the city: the same orders)
    the coarser dimension first."""
    return (-round(abs(driver.score), 6), driver.depth, driver.dimension, driver.value)


def offsets(drivers: Sequence[Driver], change: float | None, top: int) -> list[Driver]:
    """The values that moved against the change (they held it back), largest first."""
    if not change:
        return []
    against = [d for d in drivers if d.score * change < 0]
    ordered = sorted(against, key=rank_key)
    return [d for d in ordered if abs(d.score) >= MIN_WEIGHT * abs(change)][:top]


# ----- formulas ----------------------------------------------------------------------------


def ratio_parts(metric: Metric) -> RatioParts:
    """``(numerator, denominator)`` of a rate metric; None for one that adds up."""
    formula = metric.formula
    while isinstance(formula, exp.Paren):
        formula = formula.this
    if isinstance(formula, exp.Div):
        return formula.this, formula.expression
    return None


def evaluate(node: exp.Expr, values: dict[str, float]) -> float:
    """A formula over component metrics, from their values (sums, products, quotients)."""
    if isinstance(node, exp.Paren):
        return evaluate(node.this, values)
    if isinstance(node, exp.Column):
        return values.get(node.name, 0.0)
    if isinstance(node, exp.Literal):
        return float(node.this)
    left, right = evaluate(node.this, values), evaluate(node.expression, values)
    if isinstance(node, exp.Add):
        return left + right
    if isinstance(node, exp.Sub):
        return left - right
    if isinstance(node, exp.Mul):
        return left * right
    if isinstance(node, exp.Div):
        return left / right if right else 0.0
    raise InvalidInput(f"cannot evaluate {node.sql()} in a formula", code="invalid_formula")


def explained_dimensions(model: SemanticModel, metric: Metric) -> list[str]:
    """The categorical dimensions a metric may be grouped by, less lifecycles and people."""
    allowed = model.allowed_dimensions(metric.name)
    return [d for d in allowed if d in model.dimensions and d not in SKIPPED_DIMENSIONS]


# ----- reading the numbers -----------------------------------------------------------------


def number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def value_label(row: dict[str, Any], dimension: str) -> str:
    value = row.get(dimension)
    return NONE_LABEL if value is None or value == "" else str(value)


def check_compare(compare: str) -> None:
    if compare not in COMPARES:
        raise InvalidInput(
            f"compare must be previous or year, not {compare!r}", code="invalid_compare"
        )


async def explain(
    source: MetricSource,
    metric_name: str,
    period: str,
    compare: str = "previous",
    *,
    top: int = TOP_DRIVERS,
    dimensions: Sequence[str] | None = None,
) -> Explanation:
    """Decompose the change of ``metric_name`` over ``period`` against ``compare``."""
    check_compare(compare)
    model = source.model
    metric = model.metric(metric_name)
    base = {"period": period, "compare": compare}
    headline = await source.query({"metrics": [metric.name], **base})
    row = headline.rows[0] if headline.rows else {}
    current, previous = row.get(metric.name), row.get(f"{metric.name}_previous")
    change = row.get(f"{metric.name}_change")
    names = list(dimensions) if dimensions is not None else explained_dimensions(model, metric)
    for name in names:
        if name not in explained_dimensions(model, metric):
            raise InvalidInput(
                f"{metric.label} cannot be explained by {name!r}: dimensions are "
                f"{', '.join(explained_dimensions(model, metric))}",
                code="invalid_dimension",
            )
    parts = ratio_parts(metric)
    found: list[Driver] = []
    skipped: list[str] = []
    for name in names:
        try:
            found += await decomposed(source, metric, name, base, parts)
        except BichatError as error:
            if error.code != "query_timeout":
                raise
            skipped.append(name)  # one dimension too slow (a huge catalogue) is left out

    data = headline.result.to_dict()
    explanation = Explanation(
        metric=metric.name,
        label=metric.label,
        format=metric.format,
        kind="ratio" if parts else "additive",
        period=data["period"],
        comparison=data["comparison"] or {},
        previous=none_or_float(previous),
        current=none_or_float(current),
        change=none_or_float(change),
        change_pct=none_or_float(row.get(f"{metric.name}_change_pct")),
        drivers=ranked(found, none_or_float(change), top),
        offsets=offsets(found, none_or_float(change), OFFSETS),
        dimensions=[n for n in names if n not in skipped],
        skipped=skipped,
        sql=list(source.sqls),
    )
    explanation.text = describe(explanation, source.tenant.currency)
    return explanation


def none_or_float(value: Any) -> float | None:
    return None if value is None else number(value)


def hierarchy_depth(model: SemanticModel, name: str) -> int:
    dimension, depth = model.dimensions[name], 0
    while dimension.parent is not None and depth < 10:
        dimension, depth = model.dimensions[dimension.parent], depth + 1
    return depth


async def decomposed(
    source: MetricSource,
    metric: Metric,
    dimension: str,
    base: Query,
    parts: RatioParts,
) -> list[Driver]:
    label, depth = source.model.dimension(dimension).label, hierarchy_depth(source.model, dimension)
    return [
        replace(d, depth=depth)
        for d in await drivers_of(source, metric, dimension, label, base, parts)
    ]


async def drivers_of(
    source: MetricSource, metric: Metric, dimension: str, label: str, base: Query, parts: RatioParts
) -> list[Driver]:
    if parts is None:
        rows = await source.query({"metrics": [metric.name], "by": [dimension], **base})
        pairs = [
            Pair(
                value_label(r, dimension),
                number(r.get(f"{metric.name}_previous")),
                number(r.get(metric.name)),
            )
            for r in rows.rows
        ]
        return additive_drivers(dimension, label, pairs)
    components = list(dict.fromkeys(metric.components))
    rows = await source.query({"metrics": components, "by": [dimension], **base}, hidden=True)
    scale = 100.0 if metric.format == "percent" else 1.0
    return ratio_drivers(dimension, label, rate_pairs(rows, dimension, components, parts), scale)


def rate_pairs(
    rows: Rows, dimension: str, components: list[str], parts: tuple[exp.Expr, exp.Expr]
) -> list[RatePair]:
    numerator, denominator = parts
    pairs = []
    for row in rows.rows:
        now = {c: number(row.get(c)) for c in components}
        then = {c: number(row.get(f"{c}_previous")) for c in components}
        pairs.append(
            RatePair(
                value_label(row, dimension),
                evaluate(numerator, then),
                evaluate(denominator, then),
                evaluate(numerator, now),
                evaluate(denominator, now),
            )
        )
    return pairs


# ----- in words ----------------------------------------------------------------------------


def describe(explanation: Explanation, currency: str) -> str:
    """The change and its drivers in plain words."""
    e, fmt = explanation, explanation.format
    period = e.period.get("label") or e.period.get("name")
    against = (
        "the same period a year earlier"
        if e.comparison.get("kind") == "year"
        else ("the period before")
    )
    if e.change is None or e.current is None or e.previous is None:
        return f"{e.label} has no figures for {period} to compare with {against}."
    if e.change == 0:
        return f"{e.label} did not change in {period} against {against}."
    direction = "rose" if e.change > 0 else "fell"
    pct = f" ({numbers.percent(e.change_pct)})" if e.change_pct is not None else ""
    lines = [
        f"{e.label} {direction} by {numbers.change(e.change, fmt, currency).lstrip('+-')}{pct} "
        f"in {period} against {against}: {numbers.figure(e.previous, fmt, currency)} → "
        f"{numbers.figure(e.current, fmt, currency)}."
    ]
    if not e.drivers:
        lines.append("No dimension stands out: the change is spread evenly.")
    for rank, driver in enumerate(e.drivers[:3]):
        lines.append(driver_sentence(rank, driver, e, currency))
    if e.offsets:
        held = ", ".join(
            f"{d.dimension_label} {d.value} ({numbers.change(d.contribution, fmt, currency)})"
            for d in e.offsets[:2]
        )
        lines.append(f"Holding it back (better than the rest's trend): {held}.")
    if e.skipped:
        lines.append(f"Not checked (their queries ran out of time): {', '.join(e.skipped)}.")
    return " ".join(lines)


def driver_sentence(rank: int, d: Driver, e: Explanation, currency: str) -> str:
    lead = "The biggest driver" if rank == 0 else "Then"
    who = f"{d.dimension_label} {d.value}"
    moved = numbers.change(d.contribution, e.format, currency)
    share = (
        f", {round(100 * d.share_of_change)}% of the change"
        if d.share_of_change is not None
        else ""
    )
    if e.kind == "additive":
        own = f" (itself {numbers.percent(d.change_pct)})" if d.change_pct is not None else ""
        return f"{lead}: {who}, {moved}{share}{own}."
    assert d.weight_previous is not None and d.weight_current is not None
    if d.effect == "mix":
        why = (
            f"its share of the base went from {100 * d.weight_previous:.1f}% to "
            f"{100 * d.weight_current:.1f}% (mix) at "
            f"{numbers.figure(d.current if d.current is not None else d.previous, e.format, currency)}"
        )
    else:
        why = (
            f"its own {e.label.lower()} went from {numbers.figure(d.previous, e.format, currency)} "
            f"to {numbers.figure(d.current, e.format, currency)} (rate)"
        )
    return f"{lead}: {who}, {moved}{share}: {why}."
