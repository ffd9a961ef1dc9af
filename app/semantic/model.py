"""The semantic model: ``prompts/semantic.yaml`` loaded, parsed and checked against the schema.

Everything a query may name is here: entities (tables, with joins derived from the schema's
foreign keys, see ``app.semantic.graph``), categorical and time dimensions, and metrics. A
metric is either *simple* (one aggregate over one entity, with filters), *derived* (a
formula over other metrics, such as ``revenue / orders``) or has *variants* (revenue: order
totals at the order grain, order lines' totals by product; the plan picks the first variant
that allows every dimension the query needs). SQL fragments are parsed into
sqlglot trees once, here; every column they name must exist in the ORM's tables
(``db.models``) and must not be a private column.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from rapidfuzz import process
from sqlalchemy import Table
from sqlglot import exp
from sqlglot.errors import SqlglotError

from app.semantic.errors import InvalidQuery, SemanticModelError, closest_hint
from app.semantic.graph import JoinGraph
from db.models import PII_COLUMNS, Base

MODEL_FILE = Path(__file__).resolve().parents[2] / "prompts" / "semantic.yaml"
GRAINS = ("day", "week", "month", "quarter", "year", "weekday", "hour")
BUCKET_GRAINS = GRAINS[:5]  # grains whose values are periods (a date), not cycles
FORMATS = ("money", "count", "percent", "ratio", "rating", "duration")
TREE_MODES = ("descendants", "root")
DISTINCT_SAFE = (exp.Min, exp.Max)  # with COUNT(DISTINCT ...): right however rows repeat


@dataclass(frozen=True, eq=False)  # one object per name: compared by identity
class Fragment:
    """A SQL fragment of the model (columns written ``entity.column``), parsed once."""

    text: str
    tree: exp.Expr
    columns: frozenset[tuple[str, str]]
    aliased: exp.Expr  # the tree with each entity written as its alias (copy before use)

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(entity for entity, _ in self.columns)


@dataclass(frozen=True, eq=False)  # one object per name: compared by identity
class Entity:
    name: str
    alias: str
    description: str
    table: Table


@dataclass(frozen=True)
class DimensionSource:
    entity: str
    key: Fragment
    label: Fragment | None = None


@dataclass(frozen=True)
class ValueInfo:
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # one object per name: compared by identity
class Named:
    """What a categorical dimension and a metric both have: how they are named and read."""

    name: str
    label: str
    description: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Dimension(Named):
    """A categorical dimension: what a result can be grouped or filtered by."""

    sources: tuple[DimensionSource, ...]
    key_name: str | None = None  # also show the key (e.g. ``sku``) next to the label
    tree: str | None = None  # ``descendants`` or ``root`` (entity with a parent key)
    values: Mapping[str, ValueInfo] = field(default_factory=dict)
    names: str | None = None  # ``countries``: ISO codes with their names
    parent: str | None = None  # the dimension one level up (city -> region -> country)

    kind = "categorical"

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(source.entity for source in self.sources)


@dataclass(frozen=True, eq=False)  # one object per name: compared by identity
class TimeDimension:
    name: str
    label: str
    synonyms: tuple[str, ...]
    entity: str
    column: Fragment

    kind = "time"
    description = ""

    @property
    def entities(self) -> tuple[str, ...]:
        return (self.entity,)


AnyDimension = Dimension | TimeDimension


@dataclass(frozen=True)
class Condition:
    """A metric's filter; ``unless`` names a dimension that replaces it when the query groups
    or filters by that dimension (``orders`` by status shows every status)."""

    fragment: Fragment
    unless: str | None = None


@dataclass(frozen=True, eq=False)
class Metric(Named):
    format: str
    additive: bool
    hidden: bool = False
    exclude_dimensions: frozenset[str] = frozenset()
    filter_label: str | None = None
    time: str | None = None
    # simple metrics
    entity: str | None = None
    measure: Fragment | None = None
    filters: tuple[Condition, ...] = ()
    expand_via: str | None = None
    first_per: Fragment | None = None
    per: Fragment | None = None
    having: Fragment | None = None
    # derived metrics (and metrics with variants, whose formula names the variant in use)
    formula: exp.Expr | None = None
    components: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()  # grain variants, preferred first

    @property
    def derived(self) -> bool:
        return self.formula is not None

    @property
    def distinct_safe(self) -> bool:
        """Right however often its rows repeat (so it may count through a one-to-many join)."""
        tree = self.measure.tree if self.measure else None
        return isinstance(tree, DISTINCT_SAFE) or (
            isinstance(tree, exp.Count) and isinstance(tree.this, exp.Distinct)
        )


class SemanticModel:
    """The loaded model. Look-ups raise ``InvalidQuery`` naming the closest known names."""

    def __init__(
        self,
        *,
        entities: dict[str, Entity],
        dimensions: dict[str, Dimension],
        time_dimensions: dict[str, TimeDimension],
        metrics: dict[str, Metric],
        graph: JoinGraph,
        path: Path | None = None,
    ) -> None:
        self.entities, self.dimensions = entities, dimensions
        self.time_dimensions, self.metrics = time_dimensions, metrics
        self.graph, self.path = graph, path
        self._allowed: dict[str, tuple[str, ...]] = {}

    # ----- look-ups --------------------------------------------------------------------------

    def fragments(self) -> list[Fragment]:
        """Every SQL fragment of the model (for the drift test: all must stay readable)."""
        found = [t.column for t in self.time_dimensions.values()]
        for dimension in self.dimensions.values():
            for source in dimension.sources:
                found += [source.key, *([source.label] if source.label else [])]
        for metric in self.metrics.values():
            found += [f for f in (metric.measure, metric.first_per, metric.per, metric.having) if f]
            found += [c.fragment for c in metric.filters]
        return found

    def referenced_columns(self) -> set[tuple[str, str]]:
        """``(table, column)`` for every column the model reads."""
        return {
            (self.entities[entity].table.name, column)
            for fragment in self.fragments()
            for entity, column in fragment.columns
        }

    @property
    def public_metrics(self) -> list[Metric]:
        return [m for m in self.metrics.values() if not m.hidden]

    @property
    def dimension_names(self) -> list[str]:
        return [*self.dimensions, *self.time_dimensions]

    def metric(self, name: str) -> Metric:
        found = self.metrics.get(name)
        if found is None or found.hidden:
            names = [m.name for m in self.public_metrics]
            raise InvalidQuery(
                f"unknown metric {name!r}.{closest_hint(closest(name, names))} "
                f"Metrics: {', '.join(names)}",
                code="unknown_metric",
            )
        return found

    def dimension(self, name: str) -> AnyDimension:
        found = self.dimensions.get(name) or self.time_dimensions.get(name)
        if found is None:
            names = self.dimension_names
            raise InvalidQuery(
                f"unknown dimension {name!r}.{closest_hint(closest(name, names))} "
                f"Dimensions: {', '.join(names)}",
                code="unknown_dimension",
            )
        return found

    def parts(self, metric: Metric) -> list[Metric]:
        """The simple metrics a metric is computed from (itself when simple), in order."""
        if not metric.derived:
            return [metric]
        seen: dict[str, Metric] = {}
        for name in metric.components:
            for part in self.parts(self.metrics[name]):
                seen.setdefault(part.name, part)
        return list(seen.values())

    def times(self, metric: Metric) -> tuple[str, ...]:
        """The time dimensions a metric is counted on (none for snapshots such as stock)."""
        return tuple(dict.fromkeys(p.time for p in self.parts(metric) if p.time))

    def allowed_dimensions(self, name: str) -> tuple[str, ...]:
        """Dimensions reachable from the metric's entity through many-to-one joins (or
        through ``expand_via`` for distinct counts), less the ones it excludes."""
        if name not in self._allowed:
            self._allowed[name] = self.find_allowed(self.metrics[name])
        return self._allowed[name]

    def find_allowed(self, metric: Metric) -> tuple[str, ...]:
        if metric.variants:  # each dimension of one variant or another
            allowed = set().union(*(self.allowed_dimensions(v) for v in metric.variants))
        elif metric.derived:
            allowed = set.intersection(
                *(set(self.allowed_dimensions(c)) for c in metric.components)
            )
        else:
            assert metric.entity is not None
            reach = set(self.graph.reachable(metric.entity))
            if metric.expand_via:
                reach |= set(self.graph.reachable(metric.expand_via))
            allowed = {d for d in self.dimension_names if reach & set(self.dimension(d).entities)}
        allowed -= metric.exclude_dimensions
        return tuple(d for d in self.dimension_names if d in allowed)


def closest(name: str, choices: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` choices that look like ``name`` (rapidfuzz WRatio ≥ 60)."""
    found = process.extract(name, list(choices), limit=limit, score_cutoff=60)
    return [choice for choice, _, _ in found]


# ----- loading ---------------------------------------------------------------------------------


class Loader:
    """Builds a ``SemanticModel`` from the YAML's data; every problem names its place."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.tables = Base.metadata.tables
        self.entities: dict[str, Entity] = {}

    def load(self, path: Path | None) -> SemanticModel:
        self.entities = {n: self.entity(n, v) for n, v in self.section("entities").items()}
        graph = JoinGraph.from_tables({n: e.table for n, e in self.entities.items()})
        time_dimensions = {n: self.time_dimension(n, v) for n, v in self.section("time").items()}
        dimensions = {n: self.dimension(n, v) for n, v in self.section("dimensions").items()}
        clash = set(time_dimensions) & set(dimensions)
        if clash:
            raise SemanticModelError(f"names used for two dimensions: {sorted(clash)}")
        metrics = {n: self.metric(n, v) for n, v in self.section("metrics").items()}
        model = SemanticModel(
            entities=self.entities,
            dimensions=dimensions,
            time_dimensions=time_dimensions,
            metrics=metrics,
            graph=graph,
            path=path,
        )
        check_model(model)
        return model

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if not isinstance(value, dict) or not value:
            raise SemanticModelError(f"the model needs a non-empty mapping {name!r}")
        return value

    def entity(self, name: str, data: Mapping[str, Any]) -> Entity:
        table = self.tables.get(name)
        if table is None:
            raise SemanticModelError(f"entity {name!r}: no table of that name in db/models")
        return Entity(name, str(data["alias"]), str(data.get("description", "")), table)

    def fragment(self, text: str, where: str) -> Fragment:
        try:
            tree = sqlglot.parse_one(str(text), read="postgres")
        except SqlglotError as error:
            raise SemanticModelError(f"{where}: cannot parse {text!r}: {error}") from None
        columns = set()
        for column in tree.find_all(exp.Column):
            columns.add(self.column(column, text, where))
        aliases = {name: entity.alias for name, entity in self.entities.items()}
        return Fragment(str(text), tree, frozenset(columns), aliased(tree, aliases))

    def column(self, column: exp.Column, text: str, where: str) -> tuple[str, str]:
        entity, name = column.table, column.name
        if entity not in self.entities:
            raise SemanticModelError(
                f"{where}: {text!r} must name columns as entity.column with a known entity "
                f"({', '.join(self.entities)}); {column.sql()!r} does not"
            )
        if name not in self.entities[entity].table.columns:
            raise SemanticModelError(f"{where}: {entity} has no column {name!r}")
        if name in PII_COLUMNS.get(entity, ()):
            raise SemanticModelError(f"{where}: {entity}.{name} is private and never readable")
        return entity, name

    def time_dimension(self, name: str, data: Mapping[str, Any]) -> TimeDimension:
        column = self.fragment(data["column"], f"time {name}")
        if not isinstance(column.tree, exp.Column):
            raise SemanticModelError(f"time {name}: column must be one entity.column")
        (entity,) = column.entities
        return TimeDimension(
            name, str(data.get("label", name)), strings(data.get("synonyms")), entity, column
        )

    def dimension(self, name: str, data: Mapping[str, Any]) -> Dimension:
        where = f"dimension {name}"
        keys = [self.fragment(c, where) for c in data.get("columns", [])]
        label = data.get("label_column")
        sources = []
        for key in keys:
            if len(key.entities) != 1:
                raise SemanticModelError(f"{where}: {key.text!r} must read one entity")
            (entity,) = key.entities
            label_fragment = self.fragment(label, where) if label else None
            if label_fragment is not None and label_fragment.entities != key.entities:
                raise SemanticModelError(f"{where}: label_column must read {entity} only")
            sources.append(DimensionSource(entity, key, label_fragment))
        if not sources or (label and len(sources) > 1):
            raise SemanticModelError(f"{where}: one or more columns (label_column with one only)")
        tree = data.get("tree")
        if tree is not None and tree not in TREE_MODES:
            raise SemanticModelError(f"{where}: tree must be one of {TREE_MODES}")
        return Dimension(
            name=name,
            label=str(data.get("label", name)),
            description=" ".join(str(data.get("description", "")).split()),
            synonyms=strings(data.get("synonyms")),
            sources=tuple(sources),
            key_name=data.get("key_name"),
            tree=tree,
            values={
                str(value): ValueInfo(str(info.get("label", value)), strings(info.get("synonyms")))
                for value, info in (data.get("values") or {}).items()
            },
            names=data.get("names"),
            parent=data.get("parent"),
        )

    def metric(self, name: str, data: Mapping[str, Any]) -> Metric:
        where = f"metric {name}"
        fmt = data.get("format")
        if fmt not in FORMATS:
            raise SemanticModelError(f"{where}: format must be one of {', '.join(FORMATS)}")
        common: dict[str, Any] = {
            "name": name,
            "label": str(data.get("label", name)),
            "description": " ".join(str(data.get("description", "")).split()),
            "synonyms": strings(data.get("synonyms")),
            "format": fmt,
            "additive": bool(data.get("additive", False)),
            "hidden": bool(data.get("hidden", False)),
            "exclude_dimensions": frozenset(strings(data.get("exclude_dimensions"))),
            "filter_label": data.get("filter_label"),
            "time": data.get("time"),
        }
        if "variants" in data:
            variants = strings(data["variants"])
            if not variants:
                raise SemanticModelError(f"{where}: variants names one metric or more")
            return Metric(
                **common,
                formula=exp.column(variants[0]),
                components=variants[:1],
                variants=variants,
            )
        if "formula" in data:
            return self.derived_metric(common, str(data["formula"]), where)
        return self.simple_metric(common, data, where)

    def derived_metric(self, common: dict[str, Any], formula: str, where: str) -> Metric:
        try:
            tree = sqlglot.parse_one(formula, read="postgres")
        except SqlglotError as error:
            raise SemanticModelError(
                f"{where}: cannot parse formula {formula!r}: {error}"
            ) from None
        allowed = (exp.Column, exp.Identifier, exp.Literal, exp.Paren, exp.Neg, exp.Binary)
        for node in tree.walk():
            if not isinstance(node, allowed) or (
                isinstance(node, exp.Binary) and not isinstance(node, FORMULA_OPERATORS)
            ):
                raise SemanticModelError(
                    f"{where}: formulas use metric names, numbers, + - * / and parentheses"
                )
        components = tuple(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))
        if not components:
            raise SemanticModelError(f"{where}: the formula names no metric")
        return Metric(**common, formula=tree, components=components)

    def simple_metric(self, common: dict[str, Any], data: Mapping[str, Any], where: str) -> Metric:
        entity = data.get("entity")
        if entity not in self.entities:
            raise SemanticModelError(f"{where}: entity must be one of {', '.join(self.entities)}")
        measure = self.fragment(data["measure"], where)
        if not isinstance(measure.tree, exp.AggFunc):
            raise SemanticModelError(f"{where}: measure must be one aggregate, e.g. sum(x)")
        filters = tuple(self.condition(f, where) for f in data.get("filters") or ())

        def optional(key: str) -> Fragment | None:
            return self.fragment(data[key], where) if data.get(key) else None

        return Metric(
            **common,
            entity=entity,
            measure=measure,
            filters=filters,
            expand_via=data.get("expand_via"),
            first_per=optional("first_per"),
            per=optional("per"),
            having=optional("having"),
        )

    def condition(self, item: Any, where: str) -> Condition:
        if isinstance(item, dict):
            return Condition(self.fragment(item["sql"], where), item.get("unless"))
        return Condition(self.fragment(item, where))


FORMULA_OPERATORS = (exp.Add, exp.Sub, exp.Mul, exp.Div)


def aliased(tree: exp.Expr, aliases: Mapping[str, str]) -> exp.Expr:
    """A copy of ``tree`` whose ``entity.column`` references read ``alias.column``."""
    copy = tree.copy()
    for column in copy.find_all(exp.Column):
        if column.table in aliases:
            column.set("table", exp.to_identifier(aliases[column.table]))
    return copy


def strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def check_model(model: SemanticModel) -> None:
    """Cross-references: every name a metric or dimension uses exists and makes sense."""
    for dimension in model.dimensions.values():
        check_dimension(model, dimension)
    for metric in model.metrics.values():  # before anything asks a variant's dimensions
        check_variant_names(model, metric)
    # metrics with variants last: their variants are checked first
    for metric in sorted(model.metrics.values(), key=lambda m: bool(m.variants)):
        check_metric(model, metric)
        model.allowed_dimensions(metric.name)


def check_dimension(model: SemanticModel, dimension: Dimension) -> None:
    where = f"dimension {dimension.name}"
    if dimension.parent is not None and dimension.parent not in model.dimensions:
        raise SemanticModelError(f"{where}: parent {dimension.parent!r} is not a dimension")
    if dimension.names not in (None, "countries"):
        raise SemanticModelError(f"{where}: names must be 'countries'")
    for source in dimension.sources:
        if dimension.tree and model.graph.tree_edge(source.entity) is None:
            raise SemanticModelError(f"{where}: {source.entity} has no parent key for a tree")


def check_metric(model: SemanticModel, metric: Metric) -> None:
    where = f"metric {metric.name}"
    unknown = [d for d in metric.exclude_dimensions if d not in model.dimension_names]
    if unknown:
        raise SemanticModelError(f"{where}: exclude_dimensions names unknown {unknown}")
    if metric.variants:
        check_variants(model, metric, where)
    if metric.derived:
        check_components(model, metric, (metric.name,))
        return
    assert metric.entity is not None and metric.measure is not None
    if metric.time is not None:
        time = model.time_dimensions.get(metric.time)
        if time is None:
            raise SemanticModelError(f"{where}: unknown time {metric.time!r}")
        if time.entity not in model.graph.reachable(metric.entity):
            raise SemanticModelError(f"{where}: time {time.name} is not reachable")
    reach = model.graph.reachable(metric.entity)
    for fragment in (metric.measure, *(c.fragment for c in metric.filters)):
        if not fragment.entities <= set(reach):
            raise SemanticModelError(f"{where}: {fragment.text!r} reads an unreachable entity")
    for condition in metric.filters:
        if condition.unless is not None and condition.unless not in model.dimensions:
            raise SemanticModelError(f"{where}: unless names unknown {condition.unless!r}")
    check_expansion(model, metric, where)
    check_per(metric, where)


def check_expansion(model: SemanticModel, metric: Metric, where: str) -> None:
    if metric.expand_via is None:
        return
    if not metric.distinct_safe or metric.per is not None:
        raise SemanticModelError(f"{where}: expand_via needs a count(DISTINCT ...) measure")
    if metric.expand_via not in model.entities:
        raise SemanticModelError(f"{where}: expand_via names unknown {metric.expand_via!r}")
    assert metric.entity is not None
    if metric.entity not in model.graph.reachable(metric.expand_via):
        raise SemanticModelError(f"{where}: {metric.entity} is not reachable from expand_via")


def check_per(metric: Metric, where: str) -> None:
    for fragment in (metric.first_per, metric.per):
        if fragment is not None and (
            not isinstance(fragment.tree, exp.Column) or fragment.entities != {metric.entity}
        ):
            raise SemanticModelError(f"{where}: {fragment.text!r} must be a column of the entity")
    if (metric.per is None) != (metric.having is None):
        raise SemanticModelError(f"{where}: per and having go together")
    if metric.having is not None and len(list(metric.having.tree.find_all(exp.AggFunc))) != 1:
        raise SemanticModelError(f"{where}: having must hold exactly one aggregate")


def check_variant_names(model: SemanticModel, metric: Metric) -> None:
    """Variants are other metrics (without variants of their own) of the same format."""
    where = f"metric {metric.name}"
    for name in metric.variants:
        variant = model.metrics.get(name)
        if variant is None or variant.variants:
            raise SemanticModelError(f"{where}: variant {name!r} is not a metric without variants")
        if variant.format != metric.format:
            raise SemanticModelError(f"{where}: variant {name} is not {metric.format}")


def check_variants(model: SemanticModel, metric: Metric, where: str) -> None:
    """Variants are counted on the same time."""
    if len({model.times(model.metrics[v]) for v in metric.variants}) > 1:
        raise SemanticModelError(f"{where}: the variants are counted on different times")


def check_components(model: SemanticModel, metric: Metric, trail: tuple[str, ...]) -> None:
    for name in metric.components:
        if name not in model.metrics:
            raise SemanticModelError(f"metric {trail[0]}: the formula names unknown {name!r}")
        if name in trail:
            raise SemanticModelError(f"metric {trail[0]}: the formula refers to itself")
        component = model.metrics[name]
        if component.derived:
            check_components(model, component, (*trail, name))


def load_model(path: Path = MODEL_FILE) -> SemanticModel:
    """Parse and check a model file (uncached: see ``default_model``)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise SemanticModelError(f"cannot read the semantic model {path}: {error}") from None
    if not isinstance(data, dict):
        raise SemanticModelError(f"{path}: expected a mapping at the top")
    try:
        return Loader(data).load(path)
    except (KeyError, TypeError, ValueError) as error:
        raise SemanticModelError(f"{path}: malformed entry ({error!r})") from None


@functools.cache
def default_model() -> SemanticModel:
    """``prompts/semantic.yaml``, loaded once per process."""
    return load_model(MODEL_FILE)
