"""Joins between entities, derived from the schema's foreign keys (never written per query).

A foreign key ``child.column -> parent.id`` is a many-to-one join: following it from the child
never repeats a child row, so an aggregate over the child stays right whatever parents are
joined. Queries only ever walk these joins away from the entity a metric counts, along the
shortest path; a second path of the same length to the same entity would make the meaning
ambiguous and is refused when the model loads. A foreign key from a table to itself
(``categories.parent_id``) is a tree, used by tree dimensions (department, subcategories).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Table

from app.semantic.errors import SemanticModelError


@dataclass(frozen=True)
class Join:
    """``child.column = parent.parent_column``; LEFT when the column may be NULL."""

    child: str
    column: str
    parent: str
    parent_column: str
    nullable: bool


class JoinGraph:
    def __init__(self, joins: Mapping[str, tuple[Join, ...]], trees: Mapping[str, Join]) -> None:
        self.joins, self.trees = joins, trees
        self._paths: dict[str, dict[str, tuple[Join, ...]]] = {}

    @classmethod
    def from_tables(cls, tables: Mapping[str, Table]) -> JoinGraph:
        joins: dict[str, list[Join]] = {name: [] for name in tables}
        trees: dict[str, Join] = {}
        for name, table in tables.items():
            for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
                parent = key.column.table.name
                if parent not in tables:
                    continue
                nullable = bool(key.parent.nullable)
                join = Join(name, key.parent.name, parent, key.column.name, nullable)
                if parent == name:
                    trees[name] = join
                elif any(j.parent == parent for j in joins[name]):
                    raise SemanticModelError(
                        f"{name} has two foreign keys to {parent}: the join would be ambiguous"
                    )
                else:
                    joins[name].append(join)
        return cls({n: tuple(j) for n, j in joins.items()}, trees)

    def reachable(self, root: str) -> dict[str, tuple[Join, ...]]:
        """Every entity reachable from ``root`` by many-to-one joins, with its path."""
        if root not in self._paths:
            self._paths[root] = self.shortest_paths(root)
        return self._paths[root]

    def shortest_paths(self, root: str) -> dict[str, tuple[Join, ...]]:
        paths: dict[str, tuple[Join, ...]] = {root: ()}
        frontier = [root]
        while frontier:
            found: dict[str, tuple[Join, ...]] = {}
            for entity in frontier:
                for join in self.joins.get(entity, ()):
                    if join.parent in paths:
                        continue
                    path = (*paths[entity], join)
                    if join.parent in found and found[join.parent] != path:
                        raise SemanticModelError(
                            f"two join paths of the same length lead from {root} to "
                            f"{join.parent}: the model would be ambiguous"
                        )
                    found[join.parent] = path
            paths.update(found)
            frontier = list(found)
        return paths

    def path(self, root: str, entity: str) -> tuple[Join, ...]:
        return self.reachable(root)[entity]

    def tree_edge(self, entity: str) -> Join | None:
        return self.trees.get(entity)
