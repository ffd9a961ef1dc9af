"""The values index: each shop's distinct values of every categorical dimension.

For each dimension of the model (channel, status, payment method, countries with their names,
regions, cities, segments, categories with their parents, brands, products by SKU and name,
customers) the index keeps the value SQL filters on, a label for people, the parent value
(region -> country, category -> parent category), synonyms (country names and codes, the
model's value synonyms) and how often it occurs. It lives in ``dimension_values``
(migration 0007) and is rebuilt by ``refresh_values`` after ``bichat db seed``, ``load-csv``
and ``embed`` (and on first use); ``ValuesStore`` keeps each shop's index in memory until it
is rebuilt. Look-ups are dictionary reads on case-folded text; a filter on a value that is
not there fails with the closest values (rapidfuzz).

The refresh reads the business tables as the owner, with every table scoped to the tenant
explicitly (the same SQL fragments the compiler uses, so the index holds exactly the values
a filter compares with).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pycountry
from rapidfuzz import fuzz, process
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlglot import exp

from app.semantic.errors import InvalidQuery
from app.semantic.model import Dimension, SemanticModel

COUNTRY_ALIASES = {
    "US": ("USA", "America", "United States of America", "the States"),
    "GB": ("UK", "Britain", "Great Britain", "England"),
    "NL": ("Holland", "the Netherlands"),
    "AE": ("UAE", "Emirates"),
    "KR": ("Korea",),
    "CZ": ("Czechia",),
}
CLOSEST = 5
LISTED = 12  # dimensions with at most this many values list them all in errors


@dataclass(frozen=True)
class DimensionValue:
    dimension: str
    value: str  # what SQL filters on
    label: str  # what people read
    parent: str | None = None
    synonyms: tuple[str, ...] = ()
    occurrences: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return (self.value, self.label, *self.synonyms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "value": self.value,
            "label": self.label,
            "parent": self.parent,
            "synonyms": list(self.synonyms),
            "occurrences": self.occurrences,
        }


@dataclass(frozen=True)
class Mention:
    """Words of a sentence that name values (one name may be several dimensions' value)."""

    position: int  # index of the first word
    words: str
    values: list[DimensionValue]


WORD = re.compile(r"[\w'&.+-]+")


def normal(text: str) -> str:
    """Case-folded, one space between words (``WORD`` splits a sentence the same way)."""
    return " ".join(WORD.findall(text.casefold()))


@dataclass
class ValuesIndex:
    """One shop's values, with case-folded look-ups by value, label and synonym."""

    values: Sequence[DimensionValue]
    refreshed_at: datetime | None = None
    by_dimension: dict[str, dict[str, DimensionValue]] = field(init=False)
    by_name: dict[str, list[DimensionValue]] = field(init=False)
    longest: int = field(init=False)  # words in the longest name

    def __post_init__(self) -> None:
        self.by_dimension, self.by_name = {}, {}
        for value in self.values:
            self.by_dimension.setdefault(value.dimension, {})[value.value] = value
            for name in dict.fromkeys(normal(n) for n in value.names):
                self.by_name.setdefault(name, []).append(value)
        self.longest = max((len(WORD.findall(name)) for name in self.by_name), default=0)

    def of(self, dimension: str) -> list[DimensionValue]:
        return list(self.by_dimension.get(dimension, {}).values())

    def get(self, dimension: str, value: str) -> DimensionValue | None:
        return self.by_dimension.get(dimension, {}).get(value)

    def lookup(self, words: str) -> list[DimensionValue]:
        """Every value, of any dimension, named exactly ``words`` (case and spacing aside):
        ``germany`` -> customer and shipping country DE."""
        return list(self.by_name.get(normal(words), ()))

    def mentions(self, text: str) -> list[Mention]:
        """Values named in a sentence ("revenue of Acme tents in Germany"): the longest names
        first, each word used once, in the sentence's order."""
        words = WORD.findall(text)
        taken: set[int] = set()
        found: list[Mention] = []
        for size in range(min(self.longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                span = range(start, start + size)
                if taken.intersection(span):
                    continue
                values = self.by_name.get(normal(" ".join(words[start : start + size])))
                if values:
                    taken.update(span)
                    found.append(Mention(start, " ".join(words[span.start : span.stop]), values))
        return sorted(found, key=lambda m: m.position)

    def match(self, dimension: str, words: str) -> list[DimensionValue]:
        """Values of one dimension named ``words``: its value, label or a synonym."""
        exact = self.get(dimension, words)
        if exact is not None:
            return [exact]
        return [v for v in self.by_name.get(normal(words), ()) if v.dimension == dimension]

    def closest(self, dimension: str, words: str, limit: int = CLOSEST) -> list[DimensionValue]:
        choices = {
            name: value for value in self.of(dimension) for name in (value.label, value.value)
        }
        found = process.extract(
            words,
            list(choices),
            scorer=fuzz.WRatio,
            processor=normal,
            limit=limit * 2,
            score_cutoff=50,
        )
        picked = dict.fromkeys(choices[name] for name, _, _ in found)
        return list(picked)[:limit]

    def children(self, dimension: str) -> dict[str | None, list[str]]:
        tree: dict[str | None, list[str]] = {}
        for value in self.of(dimension):
            tree.setdefault(value.parent, []).append(value.value)
        return tree

    def descendants(self, dimension: str, value: str) -> list[str]:
        """``value`` and every value below it (a category and its subcategories)."""
        tree, found, todo = self.children(dimension), [], [value]
        while todo:
            current = todo.pop()
            if current not in found:
                found.append(current)
                todo += tree.get(current, [])
        return found


class UnknownValue(InvalidQuery):
    code = "unknown_value"


def unknown_value(dimension: Dimension, words: str, index: ValuesIndex) -> UnknownValue:
    known = index.of(dimension.name)
    closest = index.closest(dimension.name, words)
    message = f"no {dimension.label} {words!r} in this shop's data."
    if closest:
        message += " Closest: " + ", ".join(describe(v) for v in closest) + "."
    if 0 < len(known) <= LISTED:
        message += " Values: " + ", ".join(v.value for v in known) + "."
    if not known:
        message += f" The shop has no {dimension.label} values yet."
    return UnknownValue(message)


def describe(value: DimensionValue) -> str:
    if value.label == value.value:
        return repr(value.value)
    return f"{value.label!r} ({value.value})"


# ----- building the index ----------------------------------------------------------------------


def country_names(code: str) -> tuple[str, tuple[str, ...]]:
    """(name, synonyms) of an ISO 3166 alpha-2 code; unknown codes keep the code."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code, ()
    names = [getattr(country, key, None) for key in ("official_name", "common_name", "alpha_3")]
    synonyms = [n for n in (*names, *COUNTRY_ALIASES.get(code, ())) if n and n != country.name]
    return country.name, tuple(dict.fromkeys(synonyms))


def source_queries(
    model: SemanticModel, dimension: Dimension, tenant_id: uuid.UUID
) -> list[exp.Select]:
    """Owner SQL listing the dimension's values: (value, label, parent, occurrences), every
    table scoped to the tenant (the owner sees all shops)."""
    tenant = exp.Cast(this=exp.Literal.string(str(tenant_id)), to=exp.DataType.build("uuid"))
    queries = []
    for source in dimension.sources:
        entity = model.entities[source.entity]
        alias, key = entity.alias, source.key.aliased
        label = source.label.aliased if source.label else key
        tree = model.graph.tree_edge(source.entity) if dimension.tree else None
        up = f"{alias}_up"
        parent = retable(key, up) if tree else parent_key(model, dimension, source.entity)
        query = (
            exp.select(
                key.copy().as_("value"),
                label.copy().as_("label"),
                parent.as_("parent"),
                exp.Count(this=exp.Star()).as_("occurrences"),
            )
            .from_(exp.to_table(entity.name).as_(alias))
            .where(exp.column("tenant_id", alias).eq(tenant.copy()))
            .where(exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())))
            .group_by("1", "2", "3")
        )
        if tree is not None:  # the parent is the parent row's key (categories.parent_id)
            on = exp.and_(
                exp.column(tree.parent_column, up).eq(exp.column(tree.column, alias)),
                exp.column("tenant_id", up).eq(tenant.copy()),
            )
            query = query.join(exp.to_table(entity.name).as_(up), on=on, join_type="left")
            if dimension.tree == "root":
                query = query.where(exp.column(tree.column, alias).is_(exp.Null()))
        queries.append(query)
    return queries


def retable(tree: exp.Expr, alias: str) -> exp.Expr:
    copy = tree.copy()
    for node in copy.find_all(exp.Column):
        node.set("table", exp.to_identifier(alias))
    return copy


def parent_key(model: SemanticModel, dimension: Dimension, entity: str) -> exp.Expr:
    if dimension.parent is None:
        return exp.Null()
    parent = model.dimensions[dimension.parent]
    for source in parent.sources:
        if source.entity == entity:
            return source.key.aliased.copy()
    return exp.Null()


def enrich(model: SemanticModel, dimension: Dimension, rows: Iterable[Any]) -> list[DimensionValue]:
    """Rows of the source queries as index entries: labels, names, synonyms, one per value."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        value = str(row.value)
        label = value if row.label is None else str(row.label)  # a customer with no name
        entry = merged.setdefault(value, {"label": label, "parents": {}, "count": 0})
        entry["count"] += int(row.occurrences)
        if row.parent is not None:
            parents = entry["parents"]
            parents[str(row.parent)] = parents.get(str(row.parent), 0) + int(row.occurrences)
    for value in dimension.values:  # known values with no rows yet still filter (to zero)
        merged.setdefault(value, {"label": value, "parents": {}, "count": 0})
    return [entry_of(dimension, value, entry) for value, entry in merged.items()]


def entry_of(dimension: Dimension, value: str, entry: dict[str, Any]) -> DimensionValue:
    label: str = entry["label"]
    synonyms: tuple[str, ...] = ()
    if dimension.names == "countries":
        label, synonyms = country_names(value)
    info = dimension.values.get(value)
    if info is not None:
        label, synonyms = info.label, (*synonyms, *info.synonyms)
    parents: dict[str, int] = entry["parents"]
    parent = max(parents, key=lambda p: (parents[p], p)) if parents else None
    return DimensionValue(
        dimension.name, value, label, parent, tuple(dict.fromkeys(synonyms)), entry["count"]
    )


async def collect_values(
    connection: AsyncConnection, model: SemanticModel, tenant_id: uuid.UUID
) -> list[DimensionValue]:
    values: list[DimensionValue] = []
    for dimension in model.dimensions.values():
        rows: list[Any] = []
        for query in source_queries(model, dimension, tenant_id):
            rows += list(await connection.execute(text(query.sql(dialect="postgres"))))
        values += enrich(model, dimension, rows)
    return values


INSERT_VALUES = text(
    "INSERT INTO dimension_values "
    "(tenant_id, dimension, value, label, parent, synonyms, occurrences) "
    "SELECT :tenant, v.dimension, v.value, v.label, v.parent, "
    "ARRAY(SELECT jsonb_array_elements_text(v.synonyms)), v.occurrences "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(dimension text, value text, "
    "label text, parent text, synonyms jsonb, occurrences bigint)"
)


async def refresh_values(engine: AsyncEngine, model: SemanticModel, tenant_id: uuid.UUID) -> int:
    """Rebuild the tenant's values index in one transaction; returns how many values."""
    async with engine.begin() as connection:
        # one rebuild at a time per shop (a second waits, then rebuilds from fresh data)
        await connection.execute(
            text("SELECT id FROM tenants WHERE id = :t FOR NO KEY UPDATE"), {"t": tenant_id}
        )
        values = await collect_values(connection, model, tenant_id)
        await connection.execute(
            text("DELETE FROM dimension_values WHERE tenant_id = :t"), {"t": tenant_id}
        )
        rows = json.dumps([v.to_dict() for v in values], ensure_ascii=False)
        await connection.execute(INSERT_VALUES, {"tenant": tenant_id, "rows": rows})
        await connection.execute(
            text(
                "INSERT INTO dimension_value_refreshes (tenant_id, refreshed_at, value_count) "
                "VALUES (:t, clock_timestamp(), :n) ON CONFLICT (tenant_id) DO UPDATE "
                "SET refreshed_at = excluded.refreshed_at, value_count = excluded.value_count"
            ),
            {"t": tenant_id, "n": len(values)},
        )
    return len(values)


# ----- reading the index -----------------------------------------------------------------------


async def refreshed_at(engine: AsyncEngine, tenant_id: uuid.UUID) -> datetime | None:
    async with engine.connect() as connection:
        stamp: datetime | None = await connection.scalar(
            text("SELECT refreshed_at FROM dimension_value_refreshes WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    return stamp


async def load_values(engine: AsyncEngine, tenant_id: uuid.UUID) -> ValuesIndex:
    async with engine.connect() as connection:
        stamp = await connection.scalar(
            text("SELECT refreshed_at FROM dimension_value_refreshes WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
        rows = await connection.execute(
            text(
                "SELECT dimension, value, label, parent, synonyms, occurrences "
                "FROM dimension_values WHERE tenant_id = :t ORDER BY dimension, value"
            ),
            {"t": tenant_id},
        )
        values = [
            DimensionValue(r[0], r[1], r[2], r[3], tuple(r[4]), int(r[5])) for r in rows.all()
        ]
    return ValuesIndex(values, stamp)


class ValuesStore:
    """Each shop's index, loaded once and again only after a rebuild (any process's)."""

    def __init__(self, engine: AsyncEngine, model: SemanticModel) -> None:
        self.engine, self.model = engine, model
        self._indexes: dict[uuid.UUID, ValuesIndex] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    async def index(self, tenant_id: uuid.UUID) -> ValuesIndex:
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            stamp = await refreshed_at(self.engine, tenant_id)
            if stamp is None:  # never built (data loaded before this version, or by hand)
                await refresh_values(self.engine, self.model, tenant_id)
                stamp = await refreshed_at(self.engine, tenant_id)
            cached = self._indexes.get(tenant_id)
            if cached is None or cached.refreshed_at != stamp:
                cached = self._indexes[tenant_id] = await load_values(self.engine, tenant_id)
            return cached

    async def refresh(self, tenant_id: uuid.UUID) -> ValuesIndex:
        await refresh_values(self.engine, self.model, tenant_id)
        return await self.index(tenant_id)
