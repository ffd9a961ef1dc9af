"""One line a shop owner can check: what was counted, over which days, with which filters.

Revenue by channel · 1–30 Nov 2026 · paid, shipped or delivered orders
"""

from __future__ import annotations

from collections.abc import Sequence

from app.semantic.model import Metric, SemanticModel, TimeDimension
from app.semantic.plan import FilterPlan, Plan

SEPARATOR = " · "


def listing(items: Sequence[str], joiner: str = "and") -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def interpret(model: SemanticModel, plan: Plan) -> str:
    pieces = [headline(plan), period_text(model, plan)]
    if plan.comparison is not None:
        earlier = "previous period" if plan.comparison.kind == "previous" else "a year earlier"
        pieces.append(f"vs {plan.comparison.window.label()} ({earlier})")
    pieces += [filter_text(f) for f in plan.filters]
    pieces += default_filters(model, plan)
    pieces += left_out(model, plan)
    if plan.limit is not None:
        side = "top" if plan.ordering.descending else "bottom"
        pieces.append(f"{side} {plan.limit} by {plan.ordering.column.replace('_', ' ')}")
    if plan.query.share:
        pieces.append("with each row's % of the total")
    if plan.query.decimals is not None:
        pieces.append(f"rounded to {plan.query.decimals} decimals")
    return SEPARATOR.join(p for p in pieces if p)


def headline(plan: Plan) -> str:
    text = listing([m.label for m in plan.metrics])
    groups = [d.label for d in plan.dimensions]
    if plan.time is not None:
        grain = plan.time.grain
        explicit = plan.time.dimension
        groups.append(f"{grain} of {explicit.label}" if explicit is not None else grain)
    return f"{text} by {listing(groups)}" if groups else text


def period_text(model: SemanticModel, plan: Plan) -> str:
    timed = [m for m in plan.metrics if model.times(m)]
    if not timed:
        return "now (current stock)"
    text = plan.period.label()
    snapshots = [m.label for m in plan.metrics if not model.times(m)]
    if snapshots:
        text += f" ({listing(snapshots)}: now)"
    return text


def filter_text(item: FilterPlan) -> str:
    dimension = item.dimension
    label = dimension.label
    if isinstance(dimension, TimeDimension) and item.bound is not None:
        words = {">=": "from", ">": "after", "<": "before", "<=": "up to"}[item.op]
        return f"{label} {words} {item.shown[0]}"
    values = listing(list(item.shown), "or")
    return f"{label}: {values}" if item.op == "in" else f"{label}: not {values}"


def default_filters(model: SemanticModel, plan: Plan) -> list[str]:
    """The metrics' own filters, as their labels say, unless the query lifted them."""
    labels: list[str] = []
    for metric in plan.metrics:
        if metric.derived and metric.filter_label:
            labels.append(metric.filter_label)
            continue
        for part in model.parts(metric):
            if part.filter_label and applies(part, plan):
                labels.append(part.filter_label)
    unique = list(dict.fromkeys(labels))
    # "paid, shipped or delivered orders" is said by "order line totals of paid, ... orders"
    return [label for label in unique if not any(o != label and label in o for o in unique)]


def left_out(model: SemanticModel, plan: Plan) -> list[str]:
    """Rows without the grouped thing (``orders without a customer left out``): what the
    compiler drops when a grouped dimension is reached through a foreign key that may be
    empty (approximated here by each counted entity's path to the dimension)."""
    grouped: list[tuple[str, ...]] = [d.entities for d in plan.dimensions]
    if plan.time is not None and plan.time.dimension is not None:
        grouped.append(plan.time.dimension.entities)
    notes = []
    for part in (p for m in plan.metrics for p in model.parts(m)):
        assert part.entity is not None
        reach = model.graph.reachable(part.entity)
        for entities in grouped:
            entity = next((e for e in entities if e in reach), None)
            path = reach.get(entity, ()) if entity else ()
            if any(step.nullable for step in path):
                step = next(s for s in path if s.nullable)
                child, parent = step.child.replace("_", " "), singular(step.parent)
                notes.append(f"{child} without a {parent} left out")
    return list(dict.fromkeys(notes))


def singular(table: str) -> str:
    """``customers`` -> customer, ``categories`` -> category (table names are plurals)."""
    if table.endswith("ies"):
        return table[:-3] + "y"
    return table.removesuffix("s")


def applies(part: Metric, plan: Plan) -> bool:
    return any(c.unless is None or c.unless not in plan.grouped for c in part.filters)
