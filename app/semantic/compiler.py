"""The compiler: a ``Plan`` becomes one SQL query, built as a sqlglot tree.

Shape of every query (PostgreSQL inlines the CTEs):

    WITH m1 AS (SELECT <dimensions>, <measures> FROM <entity> JOIN <many-to-one parents>
                WHERE <window> AND <filters> GROUP BY <dimensions>),
         m2 AS (...)                                  -- one per entity counted on
    SELECT <dimensions>, <metrics>, <partial> FROM m1 [+ m2 ...] ORDER BY ... LIMIT ...

Why it is right:
- **No fan-out.** Each metric is aggregated in a CTE rooted at the entity it counts, joined
  only to parents (many-to-one joins from foreign keys), so no row is repeated; metrics of
  different entities (revenue from order lines, ratings from reviews) are aggregated apart
  and then put side by side on the dimensions, never joined row by row. Distinct counts may
  be rooted at a child (orders by category, through order lines) because repeats cannot
  change a distinct count.
- **Ratios are ratios of sums**: derived metrics divide aggregated components.
- **Time** is the shop's: windows are instants from the shop's calendar, buckets are local.
  Comparison windows are aggregated in the same scan with ``FILTER``; their rows are moved
  by the comparison's shift before bucketing, so periods line up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlglot import exp

from app.semantic.errors import InvalidQuery
from app.semantic.model import Dimension, DimensionSource, Metric, SemanticModel
from app.semantic.periods import unit_start
from app.semantic.plan import FilterPlan, Plan
from app.semantic.timesql import (
    DATE,
    GRAIN_INTERVALS,
    NUMERIC,
    bucket,
    day_literal,
    in_window,
    instant,
    interval,
    local_time,
    partial_bucket,
    shifted_local,
    weekday_name,
)

DECIMALS = {"money": 2, "ratio": 2, "rating": 2, "duration": 2, "percent": 2}  # counts: none
TREE_DEPTH = 32  # categories deeper than this are not walked (and cycles end)
CURRENT, PREVIOUS = "cur", "prev"


@dataclass(frozen=True)
class OutputColumn:
    name: str
    role: str  # dimension | key | time | metric | share_pct | previous | change | change_pct | partial
    metric: str | None = None
    format: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "role": self.role, "metric": self.metric, "format": self.format}


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    columns: tuple[OutputColumn, ...]


@dataclass
class Scope:
    """One CTE: the simple metrics counted on one entity (and one time column)."""

    name: str
    root: str
    time: str | None
    parts: list[Metric]
    sources: dict[str, DimensionSource]
    per: bool = False
    joins: list[exp.Join] = field(default_factory=list)


def compile_plan(model: SemanticModel, plan: Plan) -> CompiledQuery:
    return Compiler(model, plan).compile()


class Compiler:
    def __init__(self, model: SemanticModel, plan: Plan) -> None:
        self.model, self.plan = model, plan
        self.timezone, self.week_start = plan.timezone, plan.calendar.week_start
        self.ctes: list[exp.CTE] = []
        self.recursive = False
        self.group_columns: list[str] = []  # the dimension columns every scope outputs

    # ----- the whole query -------------------------------------------------------------------

    def compile(self) -> CompiledQuery:
        scopes = self.scopes()
        for scope in scopes:
            query = self.per_query(scope) if scope.per else self.scope_query(scope)
            self.ctes.append(cte(scope.name, query))
        relation = scopes[0].name if len(scopes) == 1 else self.merge(scopes)
        final, columns = self.final(relation)
        final.set("with_", exp.With(expressions=self.ctes, recursive=self.recursive))
        # the tree is not used again: the generator need not copy it first
        return CompiledQuery(final.sql(dialect="postgres", copy=False), tuple(columns))

    def scopes(self) -> list[Scope]:
        scopes: dict[tuple[str, str | None, str | None], Scope] = {}
        parts = dict.fromkeys(p for m in self.plan.metrics for p in self.model.parts(m))
        for part in parts:
            root, sources = self.root_for(part)
            key = (root, part.time, part.name if part.per else None)
            if key not in scopes:
                name = f"m{len(scopes) + 1}"
                scopes[key] = Scope(name, root, part.time, [], sources, per=part.per is not None)
            scopes[key].parts.append(part)
        return list(scopes.values())

    def needed_dimensions(self) -> list[Dimension]:
        filtered = [f.dimension for f in self.plan.filters if isinstance(f.dimension, Dimension)]
        return list(dict.fromkeys([*self.plan.dimensions, *filtered]))

    def time_entities(self) -> list[str]:
        explicit = self.plan.time.dimension if self.plan.time else None
        entities = [explicit.entity] if explicit else []
        return entities + [
            f.dimension.entity for f in self.plan.filters if not isinstance(f.dimension, Dimension)
        ]

    def root_for(self, part: Metric) -> tuple[str, dict[str, DimensionSource]]:
        """The metric's own entity when every dimension is reached from it, else the entity
        it may expand through (a distinct count through order lines)."""
        for root in (part.entity, part.expand_via):
            if root is None:
                continue
            reach = self.model.graph.reachable(root)
            sources: dict[str, DimensionSource] = {}
            for dimension in self.needed_dimensions():
                found = next((s for s in dimension.sources if s.entity in reach), None)
                if found is not None:
                    sources[dimension.name] = found
            complete = len(sources) == len(self.needed_dimensions())
            if complete and all(e in reach for e in self.time_entities()):
                return root, sources
        raise InvalidQuery(  # check_allowed in plan.py refuses these first
            f"{part.name} cannot reach every dimension of this query", code="dimension_not_allowed"
        )

    # ----- one scope --------------------------------------------------------------------------

    def scope_query(self, scope: Scope) -> exp.Select:
        query = self.scope_base(scope)
        common, residuals = self.conditions(scope)
        for condition in common:
            query = query.where(condition, copy=False)
        if all(residuals.values()):  # a row no metric counts need not be read
            alternatives = [exp.and_(*copies(conds), copy=False) for conds in residuals.values()]
            query = query.where(exp.or_(*alternatives, copy=False), copy=False)
        for part in scope.parts:
            for suffix, window in self.windows(scope):
                own = copies(residuals[part.name])  # a node has one parent: one copy per use
                conditions = [*own, *([window] if window is not None else [])]
                measure = self.measure(part, scope)
                if conditions:
                    measure = exp.Filter(
                        this=measure, expression=exp.Where(this=exp.and_(*conditions, copy=False))
                    )
                query = query.select(measure.as_(column_name(part, suffix), copy=False), copy=False)
        return query

    def measure(self, part: Metric, scope: Scope) -> exp.Expr:
        """The metric's aggregate; a distinct count of its own entity's key is ``count(*)``
        when the scope is rooted at that entity (each row is there once)."""
        assert part.measure is not None and part.entity is not None
        tree = part.measure.tree
        if scope.root == part.entity and isinstance(tree, exp.Count):
            counted = tree.this.expressions[0] if isinstance(tree.this, exp.Distinct) else None
            keys = self.model.entities[part.entity].table.primary_key.columns
            if isinstance(counted, exp.Column) and [c.name for c in keys] == [counted.name]:
                return exp.Count(this=exp.Star())
        return part.measure.aliased.copy()

    def scope_base(self, scope: Scope) -> exp.Select:
        """FROM, joins, WHERE (window and filters) and the grouped columns of a scope."""
        root = self.model.entities[scope.root]
        query = exp.select().from_(table_named(root.name).as_(root.alias, copy=False), copy=False)
        grouped = self.grouped_columns(scope)
        for join in self.joins(scope):
            query.append("joins", join)
        for column in grouped:
            query = query.select(column, copy=False)
        if grouped:
            query = query.group_by(
                *(exp.Literal.number(i) for i in range(1, len(grouped) + 1)), copy=False
            )
        window = self.scope_window(scope)
        if window is not None:
            query = query.where(window, copy=False)
        for item in self.plan.filters:
            query = query.where(self.filter_condition(scope, item), copy=False)
        for key in self.optional_keys(scope):
            query = query.where(exp.Not(this=exp.Is(this=key, expression=exp.Null())), copy=False)
        return query

    def optional_keys(self, scope: Scope) -> list[exp.Expr]:
        """Grouped columns reached through a foreign key that may be empty (an order's
        customer): rows without one are left out (guest orders are no customer's or segment's),
        as the interpretation says."""
        keys: list[exp.Expr] = []
        for dimension in self.plan.dimensions:
            source = scope.sources[dimension.name]
            if optional_path(self.model, scope.root, source.entity):
                keys.append(self.dimension_key(scope, dimension))
        explicit = self.plan.time.dimension if self.plan.time else None
        if explicit is not None and optional_path(self.model, scope.root, explicit.entity):
            keys.append(explicit.column.aliased.copy())
        return keys

    def suffixes(self) -> list[str]:
        return [CURRENT] if self.plan.comparison is None else [CURRENT, PREVIOUS]

    def windows(self, scope: Scope) -> list[tuple[str, exp.Expr | None]]:
        """(suffix, condition) per measured window: the current one needs no condition of its
        own unless a comparison window is scanned with it."""
        comparison, column = self.plan.comparison, self.time_column(scope)
        if comparison is None or column is None or self.plan.period.window is None:
            return [(CURRENT, None)]
        return [
            (CURRENT, in_window(column, self.plan.period.window, self.timezone)),
            (PREVIOUS, in_window(column, comparison.window, self.timezone)),
        ]

    def time_column(self, scope: Scope) -> exp.Expr | None:
        if scope.time is None:
            return None
        return self.model.time_dimensions[scope.time].column.aliased.copy()

    def scope_window(self, scope: Scope) -> exp.Expr | None:
        column, period = self.time_column(scope), self.plan.period
        if column is None or period.window is None:
            return None
        current = in_window(column, period.window, self.timezone)
        if self.plan.comparison is None:
            return current
        previous = in_window(column, self.plan.comparison.window, self.timezone)
        return exp.or_(exp.Paren(this=current), exp.Paren(this=previous), copy=False)

    def conditions(self, scope: Scope) -> tuple[list[exp.Expr], dict[str, list[exp.Expr]]]:
        """Filters all of the scope's metrics share (for WHERE), and each one's own (for its
        ``FILTER``)."""
        active = {p.name: self.active_conditions(p) for p in scope.parts}
        for part in scope.parts:
            if part.first_per is not None:
                active[part.name]["first_per"] = self.first_only(part)
        if len(scope.parts) == 1:
            return list(active[scope.parts[0].name].values()), {scope.parts[0].name: []}
        shared = set.intersection(*(set(conds) for conds in active.values()))
        first = active[scope.parts[0].name]
        common = [first[text] for text in first if text in shared]
        residuals = {
            name: [cond for text, cond in conds.items() if text not in shared]
            for name, conds in active.items()
        }
        return common, residuals

    def active_conditions(self, part: Metric) -> dict[str, exp.Expr]:
        """The metric's filters less those a grouped or filtered dimension replaces."""
        return {
            c.fragment.text: c.fragment.aliased.copy()
            for c in part.filters
            if c.unless is None or c.unless not in self.plan.grouped
        }

    def first_only(self, part: Metric) -> exp.Expr:
        """Only the row that is the first of its ``first_per`` key (a customer's first order):
        no earlier row of the same key passes the metric's own filters."""
        assert part.entity is not None and part.first_per is not None and part.time is not None
        entity = self.model.entities[part.entity]
        alias, earlier = entity.alias, f"{entity.alias}_first"
        key = part.first_per.tree.name
        time = self.model.time_dimensions[part.time].column.tree.name
        ident = next(iter(entity.table.primary_key.columns)).name
        own = [
            retable(c.fragment.aliased, alias, earlier)
            for c in part.filters
            if c.fragment.entities == {part.entity}
        ]
        before = exp.or_(
            exp.LT(this=exp.column(time, earlier), expression=exp.column(time, alias)),
            exp.and_(
                exp.column(time, earlier).eq(exp.column(time, alias)),
                exp.LT(this=exp.column(ident, earlier), expression=exp.column(ident, alias)),
                copy=False,
            ),
        )
        subquery = (
            exp.select(exp.Literal.number(1), copy=False)
            .from_(table_named(entity.name).as_(earlier, copy=False))
            .where(
                exp.column(key, earlier).eq(exp.column(key, alias)),
                *own,
                exp.Paren(this=before),
                copy=False,
            )
        )
        return exp.Not(this=exp.Exists(this=subquery))

    def filter_condition(self, scope: Scope, item: FilterPlan) -> exp.Expr:
        dimension = item.dimension
        if not isinstance(dimension, Dimension):
            column = dimension.column.aliased.copy()
            return time_condition(column, item, self.timezone)
        key = self.dimension_key(scope, dimension)
        values = [exp.Literal.string(v) for v in item.values]
        condition: exp.Expr = exp.In(this=key, expressions=values)
        if item.op == "not_in":  # a NULL (a guest's country) is not one of the values either
            condition = exp.Paren(
                this=exp.or_(
                    exp.Not(this=condition),
                    exp.Is(this=key.copy(), expression=exp.Null()),
                    copy=False,
                )
            )
        return condition

    # ----- dimensions and joins ---------------------------------------------------------------

    def dimension_key(self, scope: Scope, dimension: Dimension) -> exp.Expr:
        source = scope.sources[dimension.name]
        key = source.key.aliased.copy()
        if dimension.tree == "root":
            alias = self.model.entities[source.entity].alias
            key = retable(key, alias, f"{alias}_top")
        return key

    def dimension_label(self, scope: Scope, dimension: Dimension) -> exp.Expr | None:
        source = scope.sources[dimension.name]
        if source.label is None:
            return None
        label = source.label.aliased.copy()
        if dimension.tree == "root":
            alias = self.model.entities[source.entity].alias
            label = retable(label, alias, f"{alias}_top")
        return label

    def grouped_columns(self, scope: Scope) -> list[exp.Expr]:
        columns: list[exp.Expr] = []
        names: list[str] = []
        for dimension in self.plan.dimensions:
            label = self.dimension_label(scope, dimension)
            key = self.dimension_key(scope, dimension)
            if label is not None:
                columns += [
                    label.as_(dimension.name, copy=False),
                    key.as_(f"{dimension.name}__key", copy=False),
                ]
                names += [dimension.name, f"{dimension.name}__key"]
            else:
                columns.append(key.as_(dimension.name, copy=False))
                names.append(dimension.name)
        time = self.time_columns(scope)
        columns += time
        names += [c.alias for c in time]
        self.group_columns = names
        return columns

    def time_columns(self, scope: Scope) -> list[exp.Expr]:
        group = self.plan.time
        if group is None:
            return []
        if group.dimension is not None:
            local = local_time(group.dimension.column.aliased.copy(), self.timezone)
        else:
            column = self.time_column(scope)
            assert column is not None
            comparison = self.plan.comparison
            if comparison is not None and group.bucket:
                local = shifted_local(column, self.timezone, self.current_start(), comparison.shift)
            else:
                local = local_time(column, self.timezone)
        value = bucket(local, group.grain, self.week_start).as_(group.column, copy=False)
        if group.grain == "weekday":
            name = weekday_name(local.copy()).as_(group.column, copy=False)
            return [name, value.this.as_(f"{group.column}__sort", copy=False)]
        return [value]

    def current_start(self) -> datetime:
        window = self.plan.period.window
        assert window is not None and window.start is not None
        return window.start

    def joins(self, scope: Scope) -> list[exp.Join]:
        """Many-to-one joins from the scope's root to every entity it reads."""
        entities = {scope.root, *(s.entity for s in scope.sources.values())}
        entities.update(self.time_entities())
        if scope.time is not None:
            entities.add(self.model.time_dimensions[scope.time].entity)
        for part in scope.parts:
            assert part.measure is not None
            entities |= part.measure.entities
            for condition in part.filters:
                entities |= condition.fragment.entities
        joins: list[exp.Join] = []
        joined: dict[str, bool] = {scope.root: False}  # entity -> joined with LEFT
        paths = sorted((self.model.graph.path(scope.root, e) for e in entities), key=len)
        for path in paths:
            for step in path:
                if step.parent in joined:
                    continue
                left = step.nullable or joined[step.child]
                joined[step.parent] = left
                joins.append(
                    self.join(step.child, step.column, step.parent, step.parent_column, left)
                )
        joins += self.tree_joins(scope)
        return joins

    def join(
        self, child: str, column: str, parent: str, parent_column: str, left: bool
    ) -> exp.Join:
        entities = self.model.entities
        table = table_named(entities[parent].name).as_(entities[parent].alias, copy=False)
        on = exp.column(parent_column, entities[parent].alias).eq(
            exp.column(column, entities[child].alias)
        )
        return exp.Join(this=table, on=on, side="LEFT" if left else None)

    def tree_joins(self, scope: Scope) -> list[exp.Join]:
        """For a dimension at the top of a tree (department): the row's root, found by a
        recursive CTE over the parent key."""
        joins = []
        roots = {
            source.entity
            for name, source in scope.sources.items()
            if self.model.dimensions[name].tree == "root"
        }
        for entity_name in sorted(roots):
            entity, edge = self.model.entities[entity_name], self.model.graph.tree_edge(entity_name)
            assert edge is not None
            roots_name = f"{entity.name}_roots"
            if not any(c.alias == roots_name for c in self.ctes):
                self.ctes.insert(
                    0,
                    cte(
                        roots_name,
                        roots_query(entity.name, edge.column, edge.parent_column, roots_name),
                    ),
                )
                self.recursive = True
            via, top = f"{entity.alias}_root", f"{entity.alias}_top"
            joins.append(
                exp.Join(
                    this=table_named(roots_name).as_(via, copy=False),
                    on=exp.column("id", via).eq(exp.column(edge.parent_column, entity.alias)),
                    side="LEFT",
                )
            )
            joins.append(
                exp.Join(
                    this=table_named(entity.name).as_(top, copy=False),
                    on=exp.column(edge.parent_column, top).eq(exp.column("root_id", via)),
                    side="LEFT",
                )
            )
        return joins

    # ----- two-level metrics (per key, having) ------------------------------------------------

    def per_query(self, scope: Scope) -> exp.Select:
        """Rows per key (a customer) first, then the keys that pass ``having`` counted."""
        (part,) = scope.parts
        assert part.per is not None and part.having is not None
        inner = self.scope_base(scope)
        for condition in self.active_conditions(part).values():
            inner = inner.where(condition, copy=False)
        key = part.per.aliased.copy()
        inner = inner.where(
            exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())), copy=False
        )
        inner = inner.select(key.as_("per__key", copy=False), copy=False)
        count = len(self.group_columns) + 1
        inner = inner.group_by(
            *(exp.Literal.number(i) for i in range(1, count + 1)), append=False, copy=False
        )
        having = part.having.aliased
        aggregate = next(having.find_all(exp.AggFunc))
        outer = exp.select(*(exp.column(n) for n in self.group_columns), copy=False)
        outer = outer.from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("per_rows"))),
            copy=False,
        )
        for suffix, window in self.windows(scope):
            measure: exp.Expr = aggregate.copy()
            if window is not None:
                measure = exp.Filter(this=measure, expression=exp.Where(this=window))
            inner.select(measure.as_(f"having__{suffix}", copy=False), copy=False)
            test = having.copy()
            next(test.find_all(exp.AggFunc)).replace(exp.column(f"having__{suffix}"))
            counted = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=test))
            outer = outer.select(counted.as_(column_name(part, suffix), copy=False), copy=False)
        if self.group_columns:
            outer = outer.group_by(*(exp.column(n) for n in self.group_columns), copy=False)
        return outer

    # ----- putting scopes side by side and the final select ----------------------------------

    def merge(self, scopes: list[Scope]) -> str:
        """Scopes as one relation: their rows stacked, then one row per dimension value with
        each metric from the scope that has it (so no scope's rows multiply another's)."""
        measures = [column_name(p, s) for sc in scopes for p in sc.parts for s in self.suffixes()]
        branches = []
        for scope in scopes:
            own = {column_name(p, s) for p in scope.parts for s in self.suffixes()}
            columns = [exp.column(n) for n in self.group_columns] + [
                exp.column(m)
                if m in own
                else exp.Cast(this=exp.Null(), to=NUMERIC.copy()).as_(m, copy=False)
                for m in measures
            ]
            branches.append(
                exp.select(*columns, copy=False).from_(table_named(scope.name), copy=False)
            )
        stacked: exp.Query = branches[0]
        for branch in branches[1:]:
            stacked = exp.union(stacked, branch, distinct=False, copy=False)
        merged = exp.select(
            *(exp.column(n) for n in self.group_columns),
            *(exp.Max(this=exp.column(m)).as_(m, copy=False) for m in measures),
        ).from_(
            exp.Subquery(this=stacked, alias=exp.TableAlias(this=exp.to_identifier("stacked"))),
            copy=False,
        )
        if self.group_columns:
            merged = merged.group_by(*(exp.column(n) for n in self.group_columns), copy=False)
        self.ctes.append(cte("merged", merged))
        return "merged"

    def final(self, relation: str) -> tuple[exp.Select, list[OutputColumn]]:
        spine = self.spine()
        time = self.plan.time
        if spine is not None and time is not None:
            source: exp.Expr | None = exp.Cast(this=exp.column(time.column, "s"), to=DATE.copy())
            assert source is not None
            query = exp.select().from_(spine, copy=False)
            on = exp.column(time.column, "m").eq(source.copy())
            query.append(
                "joins",
                exp.Join(this=table_named(relation).as_("m", copy=False), on=on, side="LEFT"),
            )
        else:
            source = exp.column(time.column, "m") if time is not None else None
            query = exp.select().from_(table_named(relation).as_("m", copy=False))
        columns: list[OutputColumn] = []
        for dimension in self.plan.dimensions:
            query = query.select(exp.column(dimension.name, "m").as_(dimension.name, copy=False))
            columns.append(OutputColumn(dimension.name, "dimension"))
            if dimension.key_name and dimension.sources[0].label is not None:
                key = exp.column(f"{dimension.name}__key", "m").as_(dimension.key_name, copy=False)
                query = query.select(key, copy=False)
                columns.append(OutputColumn(dimension.key_name, "key"))
        if time is not None and source is not None:
            query = query.select(source.copy().as_(time.column, copy=False))
            columns.append(OutputColumn(time.column, "time"))
        for metric in self.plan.metrics:
            query = self.final_metric(query, metric, columns)
        if time is not None and source is not None and time.dimension is None and time.bucket:
            window, now = self.plan.period.window, self.plan.calendar.now
            query = query.select(
                partial_bucket(source, time.grain, window, now).as_("partial", copy=False),
                copy=False,
            )
            columns.append(OutputColumn("partial", "partial"))
        query = self.order(query)
        if self.plan.limit is not None:
            query = query.limit(exp.Literal.number(self.plan.limit), copy=False)
        return query, columns

    def spine(self) -> exp.Expr | None:
        """Every bucket of the window, so empty days or months show as zero: only when time
        is the one dimension and the window is bounded."""
        group, window = self.plan.time, self.plan.period.window
        if group is None or group.dimension is not None or not group.bucket or self.plan.dimensions:
            return None
        if window is None or window.start is None:
            return None
        first = unit_start(window.start.date(), group.grain, self.week_start)
        last = unit_start(
            (window.end - timedelta(microseconds=1)).date(), group.grain, self.week_start
        )
        series = exp.Anonymous(
            this="generate_series",
            expressions=[
                day_literal(first),
                day_literal(last),
                interval(GRAIN_INTERVALS[group.grain]),
            ],
        )
        alias = exp.TableAlias(
            this=exp.to_identifier("s"), columns=[exp.to_identifier(group.column)]
        )
        return exp.Table(this=series, alias=alias)

    def final_metric(
        self, query: exp.Select, metric: Metric, columns: list[OutputColumn]
    ) -> exp.Select:
        current = self.value(metric, CURRENT)
        query = query.select(self.shown(metric, current).as_(metric.name, copy=False), copy=False)
        columns.append(OutputColumn(metric.name, "metric", metric.name, metric.format))
        if self.plan.query.share and metric.additive:
            name = f"{metric.name}_share_pct"
            query = query.select(self.share(current).as_(name, copy=False), copy=False)
            columns.append(OutputColumn(name, "share_pct", metric.name, "percent"))
        if self.plan.comparison is None:
            return query
        previous = self.value(metric, PREVIOUS)
        change = exp.Sub(
            this=exp.Paren(this=current.copy()), expression=exp.Paren(this=previous.copy())
        )
        growth = exp.Mul(this=exp.Literal.number(100), expression=exp.Paren(this=change.copy()))
        percent = self.rounded(
            exp.Div(
                this=exp.Cast(this=growth, to=NUMERIC.copy()),
                expression=nullif_zero(exp.Abs(this=previous.copy())),
            ),
            DECIMALS["percent"],
        )
        query = query.select(
            self.shown(metric, previous).as_(f"{metric.name}_previous", copy=False),
            self.shown(metric, change).as_(f"{metric.name}_change", copy=False),
            percent.as_(f"{metric.name}_change_pct", copy=False),
            copy=False,
        )
        columns += [
            OutputColumn(f"{metric.name}_previous", "previous", metric.name, metric.format),
            OutputColumn(f"{metric.name}_change", "change", metric.name, metric.format),
            OutputColumn(f"{metric.name}_change_pct", "change_pct", metric.name, "percent"),
        ]
        return query

    def share(self, value: exp.Expr) -> exp.Expr:
        """The row's percentage of all rows' total (before any top or bottom N is cut)."""
        hundred = exp.Mul(this=exp.Literal.number(100), expression=exp.Paren(this=value.copy()))
        total = exp.Window(this=exp.Sum(this=value.copy()))
        return self.rounded(
            exp.Div(this=exp.Cast(this=hundred, to=NUMERIC.copy()), expression=nullif_zero(total)),
            DECIMALS["percent"],
        )

    def value(self, metric: Metric, suffix: str) -> exp.Expr:
        """The metric's raw value in one window (a fraction for percentages)."""
        if not metric.derived:
            column: exp.Expr = exp.column(column_name(metric, suffix), "m")
            assert metric.measure is not None
            if isinstance(metric.measure.tree, exp.Sum | exp.Count):  # nothing counted is zero
                column = exp.Coalesce(this=column, expressions=[exp.Literal.number(0)])
            return column
        assert metric.formula is not None
        formula = exp.Paren(this=metric.formula.copy())  # a root that itself may be replaced
        for division in list(formula.find_all(exp.Div)):  # numeric division, never by zero
            division.set("this", exp.Cast(this=division.this, to=NUMERIC.copy()))
            division.set("expression", nullif_zero(division.expression))
        for node in list(formula.find_all(exp.Column)):
            node.replace(exp.Paren(this=self.value(self.model.metrics[node.name], suffix)))
        inner: exp.Expr = formula.this
        return inner

    def shown(self, metric: Metric, value: exp.Expr) -> exp.Expr:
        """A value as the owner reads it: percentages times 100, rounded for its format (money
        to cents) or to the query's ``decimals``. Only output columns are rounded: ratios and
        comparisons are computed from the raw values."""
        shown = value.copy()
        if metric.format == "percent":
            shown = exp.Mul(this=exp.Literal.number(100), expression=exp.Paren(this=shown))
        return self.rounded(shown, DECIMALS.get(metric.format))

    def rounded(self, value: exp.Expr, decimals: int | None) -> exp.Expr:
        wanted = self.plan.query.decimals
        places = decimals if wanted is None or decimals is None else wanted
        if places is None:
            return value
        numeric = exp.Cast(this=value, to=NUMERIC.copy())
        # ROUND as a plain call: sqlglot's Postgres ROUND infers its argument's type on every
        # rendering (a tenth of the compile time); the argument is cast to NUMERIC already
        return exp.Anonymous(this="ROUND", expressions=[numeric, exp.Literal.number(places)])

    def order(self, query: exp.Select) -> exp.Select:
        ordering, keys = self.plan.ordering, []
        if ordering.is_metric:
            keys.append(
                exp.Ordered(
                    this=self.ranked(ordering.column), desc=ordering.descending, nulls_first=False
                )
            )
        elif self.plan.time is not None and ordering.column == self.plan.time.column:
            keys.append(exp.Ordered(this=self.time_order(), desc=ordering.descending))
        else:
            keys.append(exp.Ordered(this=exp.column(ordering.column), desc=ordering.descending))
        if self.plan.time is not None and ordering.column != self.plan.time.column:
            keys.append(exp.Ordered(this=self.time_order()))
        for dimension in self.plan.dimensions:
            if dimension.name != ordering.column:
                keys.append(exp.Ordered(this=exp.column(dimension.name), nulls_first=False))
        if not ordering.is_metric and self.plan.metrics:
            first = self.plan.metrics[0].name
            keys.append(exp.Ordered(this=exp.column(first), desc=True, nulls_first=False))
        return query.order_by(*keys, copy=False)

    def ranked(self, column: str) -> exp.Expr:
        """What a metric column is ordered by: its raw value, not the rounded one shown (two
        averages of 3.334 and 3.331 both show 3.33; ranking the shown values would let the
        tie-break pick which one makes a top N)."""
        metric = self.model.metrics.get(column)
        if metric is None or metric not in self.plan.metrics:
            return exp.column(column)
        return self.value(metric, CURRENT)

    def time_order(self) -> exp.Expr:
        group = self.plan.time
        assert group is not None
        if group.grain == "weekday":
            return exp.column(f"{group.column}__sort", "m")
        return exp.column(group.column)


def table_named(name: str) -> exp.Table:
    """A table by its (possibly schema-qualified) name, built rather than parsed: ``to_table``
    parses its text, which was a tenth of the compile time."""
    *schema, last = name.split(".")
    db = exp.to_identifier(schema[-1]) if schema else None
    return exp.Table(this=exp.to_identifier(last), db=db)


def optional_path(model: SemanticModel, root: str, entity: str) -> bool:
    """Whether the many-to-one path from ``root`` to ``entity`` has a nullable step."""
    return any(step.nullable for step in model.graph.path(root, entity))


def copies(conditions: list[exp.Expr]) -> list[exp.Expr]:
    return [condition.copy() for condition in conditions]


def column_name(part: Metric, suffix: str) -> str:
    return part.name if suffix == CURRENT else f"{part.name}__{suffix}"


def cte(name: str, query: exp.Expr) -> exp.CTE:
    return exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name)))


def nullif_zero(value: exp.Expr) -> exp.Expr:
    return exp.Nullif(this=value, expression=exp.Literal.number(0))


def retable(tree: exp.Expr, old: str, new: str) -> exp.Expr:
    copy = tree.copy()
    for column in copy.find_all(exp.Column):
        if column.table == old:
            column.set("table", exp.to_identifier(new))
    return copy


def time_condition(column: exp.Expr, item: FilterPlan, timezone: str) -> exp.Expr:
    if item.bound is not None:
        bound = instant(item.bound.replace(tzinfo=ZoneInfo(timezone)))
        if item.op in (">=", ">"):
            return exp.GTE(this=column, expression=bound)
        return exp.LT(this=column, expression=bound)
    windows = [exp.Paren(this=in_window(column, w, timezone)) for w in item.windows]
    condition = exp.Paren(this=exp.or_(*windows, copy=False)) if windows else exp.true()
    return exp.Not(this=condition) if item.op == "not_in" else condition


def roots_query(table: str, parent: str, key: str, name: str) -> exp.Expr:
    """Each row of a tree with its root: ``(id, root_id, depth)`` by walking down from the
    rows without a parent (depth-bounded, so a damaged tree cannot loop)."""
    tops = (
        exp.select(
            exp.column(key, "t").as_("id", copy=False),
            exp.column(key, "t").as_("root_id", copy=False),
            exp.Literal.number(0).as_("depth", copy=False),
        )
        .from_(table_named(table).as_("t", copy=False))
        .where(exp.column(parent, "t").is_(exp.Null()), copy=False)
    )
    below = (
        exp.select(
            exp.column(key, "t").as_("id", copy=False),
            exp.column("root_id", "r"),
            exp.Add(this=exp.column("depth", "r"), expression=exp.Literal.number(1)).as_(
                "depth", copy=False
            ),
        )
        .from_(table_named(table).as_("t", copy=False))
        .join(
            table_named(name).as_("r", copy=False),
            on=exp.column(parent, "t").eq(exp.column(key, "r")),
        )
        .where(
            exp.LT(this=exp.column("depth", "r"), expression=exp.Literal.number(TREE_DEPTH)),
            copy=False,
        )
    )
    return exp.union(tops, below, distinct=False)
