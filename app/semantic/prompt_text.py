"""The semantic model as prompt text: each metric's meaning and its SQL definition, and the
dimensions. The system prompt shows this instead of hand-written metric prose, so the model
reads exactly what ``query_metrics`` computes (and what to write when it needs ``run_sql``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.semantic.model import GRAINS, Dimension, Metric, SemanticModel


@dataclass(frozen=True)
class Shorthand:
    """The filter and date most metrics share, said once instead of on every line."""

    condition: str | None
    time: str | None

    @classmethod
    def of(cls, model: SemanticModel) -> Shorthand:
        simple = [m for m in model.metrics.values() if not m.derived]
        conditions = Counter(c.fragment.text for m in simple for c in m.filters)
        times = Counter(m.time for m in simple if m.time)
        condition = conditions.most_common(1)[0][0] if conditions else None
        return cls(condition, times.most_common(1)[0][0] if times else None)


def metric_sql(
    model: SemanticModel, metric: Metric, short: Shorthand, *, dated: bool = True
) -> str:
    if metric.variants:
        return variants_sql(model, metric, short)
    if metric.derived:
        assert metric.formula is not None
        return metric.formula.sql(dialect="postgres").lower()
    assert metric.measure is not None
    text = metric.measure.text
    if metric.per is not None and metric.having is not None:
        text = f"count of {metric.per.text} having {metric.having.text}"
    conditions = [
        "R" if c.fragment.text == short.condition else c.fragment.text for c in metric.filters
    ]
    if metric.first_per is not None:
        conditions.append(f"first such order per {metric.first_per.text}")
    if conditions:
        text += " where " + " and ".join(conditions)
    if dated:
        text += time_note(model, metric, short)
    return text


def time_note(model: SemanticModel, metric: Metric, short: Shorthand) -> str:
    """``; now`` for snapshots, ``; dated by ...`` for metrics not dated by the usual column."""
    times = model.times(metric)
    if not times:
        return "; now"
    columns = [model.time_dimensions[t].column.text for t in times if t != short.time]
    return f"; dated by {', '.join(columns)}" if columns else ""


def variants_sql(model: SemanticModel, metric: Metric, short: Shorthand) -> str:
    """``sum(orders.total_amount) where R; by brand, category...: sum(order_items...)``."""
    texts, covered = [], set(model.allowed_dimensions(metric.variants[0]))
    texts.append(metric_sql(model, model.metrics[metric.variants[0]], short))
    for name in metric.variants[1:]:
        extra = [d for d in model.allowed_dimensions(name) if d not in covered]
        covered |= set(extra)
        texts.append(f"by {', '.join(extra)}: {metric_sql(model, model.metrics[name], short)}")
    return "; ".join(texts)


def render_metrics(model: SemanticModel) -> str:
    """A legend, then one line per metric: name (format): definition; meaning."""
    short = Shorthand.of(model)
    lines = []
    if short.condition:
        lines.append(f"(R means {short.condition}.)")
    if short.time:
        column = model.time_dimensions[short.time].column.text
        lines.append(f"(Metrics are dated by {column} unless a line says otherwise.)")
    for metric in model.public_metrics:
        parts = [
            f"{p.name} = {metric_sql(model, p, short, dated=False)}"
            for p in model.parts(metric)
            if p.hidden and not metric.variants and p.name not in variant_names(model)
        ]
        definition = "; ".join([metric_sql(model, metric, short, dated=False), *parts])
        if not metric.variants:
            definition += time_note(model, metric, short)
        lines.append(f"- {metric.name} ({metric.format}) = {definition}. {metric.description}")
    return "\n".join(lines)


def dimension_text(dimension: Dimension) -> str:
    columns = " or ".join(s.key.text for s in dimension.sources)
    note = {"descendants": ", with subcategories in filters", "root": ", top of the tree"}
    return f"{dimension.name} ({columns}{note.get(dimension.tree or '', '')})"


def variant_names(model: SemanticModel) -> set[str]:
    return {v for m in model.metrics.values() for v in m.variants}


def render_dimensions(model: SemanticModel) -> str:
    categorical = ", ".join(dimension_text(d) for d in model.dimensions.values())
    times = ", ".join(f"{t.name} ({t.column.text})" for t in model.time_dimensions.values())
    return (
        f"Dimensions: {categorical}.\nTime dimensions: {times}; grains: {', '.join(GRAINS)}. "
        "Each metric is dated by its own time column."
    )


def render_model(model: SemanticModel) -> str:
    return f"{render_metrics(model)}\n{render_dimensions(model)}"
