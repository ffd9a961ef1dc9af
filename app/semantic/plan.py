"""From a ``SemanticQuery`` to a ``Plan``: every name checked against the model, every filter
value against the shop's values index, the period resolved in the shop's calendar.

Nothing here touches the database: the values index and the clock's instant are passed in,
so planning and compiling are pure and fast (``benchmarks/semantic.py`` times them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlglot import exp

from app.semantic.errors import InvalidQuery
from app.semantic.model import (
    BUCKET_GRAINS,
    AnyDimension,
    Dimension,
    Metric,
    SemanticModel,
    TimeDimension,
)
from app.semantic.periods import (
    Calendar,
    Comparison,
    Period,
    Window,
    compare_window,
    midnight,
    resolve_period,
)
from app.semantic.query import Filter, SemanticQuery
from app.semantic.values import ValuesIndex, unknown_value
from db.models.business import WEEKDAYS

DEFAULT_GRAIN = "month"


@dataclass(frozen=True)
class TimeGroup:
    """Group by time: ``dimension`` None groups each metric by its own time column."""

    grain: str
    dimension: TimeDimension | None
    column: str

    @property
    def bucket(self) -> bool:
        return self.grain in BUCKET_GRAINS


@dataclass(frozen=True)
class FilterPlan:
    dimension: AnyDimension
    op: str
    values: tuple[str, ...] = ()  # what SQL compares with (subcategories included)
    shown: tuple[str, ...] = ()  # what the interpretation says
    windows: tuple[Window, ...] = ()  # a time dimension within periods
    bound: datetime | None = None  # a time dimension compared with a local instant


@dataclass(frozen=True)
class Ordering:
    column: str
    descending: bool
    is_metric: bool


@dataclass(frozen=True)
class Plan:
    query: SemanticQuery
    metrics: tuple[Metric, ...]
    dimensions: tuple[Dimension, ...]
    time: TimeGroup | None
    filters: tuple[FilterPlan, ...]
    period: Period
    comparison: Comparison | None
    ordering: Ordering
    limit: int | None
    timezone: str
    calendar: Calendar

    @property
    def grouped(self) -> tuple[str, ...]:
        """Names of the dimensions grouped or filtered by (they lift ``unless`` filters)."""
        return (*(d.name for d in self.dimensions), *(f.dimension.name for f in self.filters))


def build_plan(
    query: SemanticQuery,
    model: SemanticModel,
    index: ValuesIndex,
    *,
    timezone: str,
    week_start: str,
    now: datetime,
) -> Plan:
    calendar = Calendar.at(now, timezone, WEEKDAYS.index(week_start))
    metrics = tuple(dict.fromkeys(model.metric(name) for name in query.metrics))
    grouped = [model.dimension(name) for name in dict.fromkeys(query.by)]
    filters = tuple(plan_filter(model, index, calendar, f) for f in query.filters)
    needed = {d.name for d in (*grouped, *(f.dimension for f in filters))}
    for dimension in (*grouped, *(f.dimension for f in filters)):
        check_allowed(model, metrics, dimension)
    metrics = tuple(bind(model, metric, needed) for metric in metrics)
    time = time_group(model, metrics, grouped, query.grain)
    period = resolve_period(
        query.period, calendar, from_date=query.from_date, to_date=query.to_date
    )
    comparison = plan_comparison(model, metrics, period, query.compare)
    if query.share and not any(m.additive for m in metrics):
        raise InvalidQuery(
            "a share of the total needs a metric that adds up (revenue, orders placed, units...)",
            code="invalid_query",
        )
    dimensions = tuple(d for d in grouped if isinstance(d, Dimension))
    ordering, limit = plan_order(query, metrics, dimensions, time)
    return Plan(
        query=query,
        metrics=metrics,
        dimensions=dimensions,
        time=time,
        filters=filters,
        period=period,
        comparison=comparison,
        ordering=ordering,
        limit=limit,
        timezone=timezone,
        calendar=calendar,
    )


def check_allowed(model: SemanticModel, metrics: tuple[Metric, ...], dim: AnyDimension) -> None:
    for metric in metrics:
        allowed = model.allowed_dimensions(metric.name)
        if dim.name not in allowed:
            raise InvalidQuery(
                f"{metric.name} cannot be split or filtered by {dim.name}: it is counted on "
                f"{counted_on(model, metric)}. {metric.name} allows: {', '.join(allowed)}",
                code="dimension_not_allowed",
            )


def bind(model: SemanticModel, metric: Metric, needed: set[str]) -> Metric:
    """The metric as this query counts it: each metric with variants (revenue) becomes the
    first variant that allows every dimension the query groups or filters by (order totals,
    or order lines by product); formulas over such metrics name the chosen variants."""
    if metric.variants:
        chosen = next(
            (v for v in metric.variants if needed <= set(model.allowed_dimensions(v))),
            metric.variants[-1],
        )
        return replace(metric, formula=exp.column(chosen), components=(chosen,))
    if metric.formula is None or not any(model.metrics[c].derived for c in metric.components):
        return metric
    formula = metric.formula.copy()
    for node in list(formula.find_all(exp.Column)):
        component = model.metrics[node.name]
        bound = bind(model, component, needed)
        if bound is not component:
            assert bound.formula is not None
            node.replace(exp.Paren(this=bound.formula.copy()))
    components = tuple(dict.fromkeys(c.name for c in formula.find_all(exp.Column)))
    return replace(metric, formula=formula, components=components)


def counted_on(model: SemanticModel, metric: Metric) -> str:
    entities = dict.fromkeys(p.entity for p in model.parts(metric) if p.entity)
    return " and ".join(str(e) for e in entities)


def time_group(
    model: SemanticModel,
    metrics: tuple[Metric, ...],
    grouped: list[AnyDimension],
    grain: str | None,
) -> TimeGroup | None:
    times = [d for d in grouped if isinstance(d, TimeDimension)]
    if len(times) > 1:
        raise InvalidQuery(
            f"group by one time dimension at a time, not {', '.join(t.name for t in times)}",
            code="invalid_query",
        )
    if times:
        grain = grain or DEFAULT_GRAIN
        if all(model.times(m) == (times[0].name,) for m in metrics):
            return TimeGroup(grain, None, grain)  # the metrics' own time: periods line up
        return TimeGroup(grain, times[0], f"{times[0].name}_{grain}")
    if grain is None:
        return None
    for metric in metrics:
        if not model.times(metric):
            raise InvalidQuery(
                f"{metric.name} is a snapshot of now: it has no time to group by {grain}",
                code="no_time",
            )
    return TimeGroup(grain, None, grain)


def plan_comparison(
    model: SemanticModel, metrics: tuple[Metric, ...], period: Period, compare: str | None
) -> Comparison | None:
    if compare is None:
        return None
    snapshots = [m.name for m in metrics if not model.times(m)]
    if snapshots:
        raise InvalidQuery(
            f"{', '.join(snapshots)} describe(s) now and cannot be compared with another period",
            code="invalid_compare",
        )
    comparison = compare_window(period, compare)
    assert period.window is not None and period.window.start is not None
    if comparison.window.end > period.window.start:
        raise InvalidQuery(
            f"the comparison period ({comparison.window.label()}) overlaps the period itself "
            f"({period.label()}): compare a period of at most a year with the year before",
            code="invalid_compare",
        )
    return comparison


def plan_order(
    query: SemanticQuery,
    metrics: tuple[Metric, ...],
    dimensions: tuple[Dimension, ...],
    time: TimeGroup | None,
) -> tuple[Ordering, int | None]:
    limit = query.top or query.bottom
    descending = query.bottom is None
    metric_names = [m.name for m in metrics]
    if query.order_by is not None:
        names = [*metric_names, *(d.name for d in dimensions), *([time.column] if time else [])]
        if query.order_by not in names:
            raise InvalidQuery(
                f"order_by must be one of the query's metrics or dimensions: {', '.join(names)}",
                code="invalid_order",
            )
        is_metric = query.order_by in metric_names
        return Ordering(query.order_by, descending if is_metric else not descending, is_metric), (
            limit
        )
    if time is not None and limit is None:
        return Ordering(time.column, False, False), None
    return Ordering(metric_names[0], descending, True), limit


# ----- filters ---------------------------------------------------------------------------------


def plan_filter(
    model: SemanticModel, index: ValuesIndex, calendar: Calendar, item: Filter
) -> FilterPlan:
    dimension = model.dimension(item.dimension)
    if isinstance(dimension, TimeDimension):
        return time_filter(dimension, calendar, item.op, item.values)
    if item.op not in ("in", "not_in"):
        raise InvalidQuery(
            f"{dimension.name} is categorical: filter it with in or not_in, not {item.op}",
            code="invalid_filter",
        )
    values: list[str] = []
    shown: list[str] = []
    for words in item.values:
        found = index.match(dimension.name, str(words).strip())
        if not found:
            raise unknown_value(dimension, str(words), index)
        for value in found:
            shown.append(value.label)
            if dimension.tree == "descendants":
                values += index.descendants(dimension.name, value.value)
            else:
                values.append(value.value)
    return FilterPlan(
        dimension,
        item.op,
        tuple(dict.fromkeys(values)),
        tuple(dict.fromkeys(shown)),
    )


def time_filter(
    dimension: TimeDimension, calendar: Calendar, op: str, values: list[str]
) -> FilterPlan:
    if op in ("in", "not_in"):
        periods = [resolve_period(v, calendar) for v in values]
        windows = tuple(p.window for p in periods if p.window is not None)
        if op == "not_in" and len(windows) < len(periods):
            raise InvalidQuery("excluding all time leaves nothing", code="invalid_filter")
        return FilterPlan(dimension, op, shown=tuple(p.label() for p in periods), windows=windows)
    if len(values) != 1:
        raise InvalidQuery(f"{op} takes one date (YYYY-MM-DD)", code="invalid_filter")
    try:
        day = date.fromisoformat(str(values[0]).strip())
    except ValueError:
        raise InvalidQuery(
            f"{dimension.name} {op} needs a date YYYY-MM-DD, not {values[0]!r}",
            code="invalid_filter",
        ) from None
    # > d and <= d are about whole days: the bound is the next midnight
    bound = midnight(day + timedelta(days=1)) if op in (">", "<=") else midnight(day)
    return FilterPlan(dimension, op, shown=(day.isoformat(),), bound=bound)
