"""Execution accuracy: does the answer's result equal the golden result?

Rules (Spider's execution match, as defog's sql-eval applies it):
- rows are compared as multisets; row order matters only when the golden SQL has an
  ``ORDER BY`` at its top level;
- column names and order are free: every golden column must be found among the answer's
  columns (extra answer columns are allowed), each answer column standing for one golden
  column at most;
- numbers (int, float) are equal within a relative tolerance of 1e-6 (and an absolute one of
  1e-9, so that 0 equals 1e-12); booleans are not numbers; NULL equals NULL; everything
  else (text, ISO dates) must be equal exactly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

REL_TOL = 1e-6
ABS_TOL = 1e-9
MAX_GREEDY_ROWS = 5000  # beyond this only the sorted comparison is tried
MAX_ASSIGNMENTS = 2000  # column assignments tried before giving up

Row = Sequence[Any]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Comparison:
    match: bool
    reason: str


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def values_equal(left: Any, right: Any, *, rel_tol: float = REL_TOL) -> bool:
    if is_number(left) and is_number(right):
        return math.isclose(float(left), float(right), rel_tol=rel_tol, abs_tol=ABS_TOL)
    if is_number(left) or is_number(right):
        return False
    return bool(type(left) is type(right) and left == right)


def rows_pairwise_equal(left: Sequence[Row], right: Sequence[Row], *, rel_tol: float) -> bool:
    return len(left) == len(right) and all(
        len(a) == len(b)
        and all(values_equal(x, y, rel_tol=rel_tol) for x, y in zip(a, b, strict=True))
        for a, b in zip(left, right, strict=True)
    )


def sort_key(value: Any) -> tuple[int, Any]:
    """A total order over JSON values: NULL, booleans, numbers, text, the rest as JSON."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if is_number(value):
        return (2, float(value))
    if isinstance(value, str):
        return (3, value)
    return (4, json.dumps(value, sort_keys=True, default=str))


def row_key(row: Row) -> tuple[tuple[int, Any], ...]:
    return tuple(sort_key(v) for v in row)


def multisets_equal(left: Sequence[Row], right: Sequence[Row], *, rel_tol: float) -> bool:
    """Equal as multisets of rows: sorted then compared pairwise, and when that fails (numbers
    within tolerance may sort differently) a greedy one-to-one matching."""
    if len(left) != len(right):
        return False
    if rows_pairwise_equal(sorted(left, key=row_key), sorted(right, key=row_key), rel_tol=rel_tol):
        return True
    if len(left) > MAX_GREEDY_ROWS:
        return False
    unmatched = list(right)
    for row in left:
        index = next(
            (
                i
                for i, other in enumerate(unmatched)
                if rows_pairwise_equal([row], [other], rel_tol=rel_tol)
            ),
            None,
        )
        if index is None:
            return False
        unmatched.pop(index)
    return True


def column(table: Table, index: int) -> list[list[Any]]:
    return [[row[index]] for row in table.rows]


def project(table: Table, indexes: Sequence[int]) -> list[list[Any]]:
    return [[row[i] for i in indexes] for row in table.rows]


def candidate_columns(
    *, gold: Table, answer: Table, ordered: bool, rel_tol: float
) -> list[list[int]]:
    """For each golden column, the answer columns holding the same values."""
    same = rows_pairwise_equal if ordered else multisets_equal
    return [
        [
            k
            for k in range(len(answer.columns))
            if same(column(gold, j), column(answer, k), rel_tol=rel_tol)
        ]
        for j in range(len(gold.columns))
    ]


def find_assignment(
    *, gold: Table, answer: Table, ordered: bool, rel_tol: float
) -> list[int] | None:
    """An answer column for each golden column (one-to-one) under which the rows match."""
    candidates = candidate_columns(gold=gold, answer=answer, ordered=ordered, rel_tol=rel_tol)
    order = sorted(range(len(candidates)), key=lambda j: len(candidates[j]))
    same = rows_pairwise_equal if ordered else multisets_equal
    chosen: dict[int, int] = {}
    tried = 0

    def search(position: int) -> bool:
        nonlocal tried
        if position == len(order):
            tried += 1
            indexes = [chosen[j] for j in range(len(gold.columns))]
            return same(gold.rows, project(answer, indexes), rel_tol=rel_tol)
        gold_index = order[position]
        for answer_index in candidates[gold_index]:
            if answer_index in chosen.values() or tried >= MAX_ASSIGNMENTS:
                continue
            chosen[gold_index] = answer_index
            if search(position + 1):
                return True
            del chosen[gold_index]
        return False

    return [chosen[j] for j in range(len(gold.columns))] if search(0) else None


def compare_results(
    *, gold: Table, answer: Table, ordered: bool, rel_tol: float = REL_TOL
) -> Comparison:
    """Whether ``answer`` reproduces ``gold`` under the rules of this module."""
    if len(answer.columns) < len(gold.columns):
        return Comparison(
            False, f"{len(answer.columns)} columns, the golden result has {len(gold.columns)}"
        )
    if len(answer.rows) != len(gold.rows):
        return Comparison(False, f"{len(answer.rows)} rows, the golden result has {len(gold.rows)}")
    if not gold.rows:
        return Comparison(True, "both results are empty")
    assignment = find_assignment(gold=gold, answer=answer, ordered=ordered, rel_tol=rel_tol)
    if assignment is None:
        missing = [
            gold.columns[j]
            for j, found in enumerate(
                candidate_columns(gold=gold, answer=answer, ordered=ordered, rel_tol=rel_tol)
            )
            if not found
        ]
        if missing:
            detail = "in this order" if ordered else "as a multiset"
            return Comparison(False, f"no answer column holds the values of {missing} ({detail})")
        return Comparison(False, "the columns hold the right values but the rows differ")
    mapped = ", ".join(f"{gold.columns[j]}={answer.columns[k]}" for j, k in enumerate(assignment))
    return Comparison(True, f"match ({'ordered' if ordered else 'unordered'}; {mapped})")


def gold_is_ordered(*, sql: str) -> bool:
    """Whether the query's outermost level has an ORDER BY (then row order counts)."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except SqlglotError:
        return False
    while isinstance(tree, exp.Subquery | exp.Paren):
        tree = tree.this
    return tree.args.get("order") is not None
