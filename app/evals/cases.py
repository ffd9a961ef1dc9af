"""The golden questions (``tests/evals/questions.yaml``): loading and validation.

Each case has an id, a category, one question (or ``turns``, a conversation whose last
question is scored) and what is expected: ``sql`` (golden SQL, scored by execution accuracy),
``search`` (a ``search_products`` call, with the filters given), ``clarify`` (one clarifying
question, no query) or ``refuse`` (no query that returns data, no harm done)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.errors import InvalidInput
from app.store.verified import Example

CATEGORIES = (
    "aggregates",
    "relative_time",
    "joins",
    "ranking",
    "window_functions",
    "product_search",
    "bundles",
    "follow_up",
    "ambiguous",
    "out_of_scope",
    "injection",
)
EXPECTATIONS = ("sql", "search", "clarify", "refuse")
SEARCH_FILTERS = ("category", "min_price", "max_price", "in_stock")


class InvalidCases(InvalidInput):
    code = "invalid_eval_cases"


@dataclass(frozen=True)
class EvalCase:
    id: str
    category: str
    turns: tuple[str, ...]
    expect: str
    sql: str | None = None
    search: dict[str, Any] = field(default_factory=dict)  # filters the search must use
    forbidden: tuple[str, ...] = ()  # text the answer must not contain

    @property
    def question(self) -> str:
        return self.turns[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "turns": list(self.turns),
            "expect": self.expect,
            "sql": self.sql,
        }


def normalise(text: str) -> str:
    return " ".join(text.split())


def load_cases(*, path: Path) -> tuple[EvalCase, ...]:
    """The cases of ``path``, validated (an ``InvalidCases`` error names every problem)."""
    data = yaml.safe_load(path.read_text())
    items = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidCases(f"{path}: expected a non-empty list under 'cases'")
    cases, problems = [], []
    for number, item in enumerate(items, start=1):
        try:
            cases.append(case_from(item=item))
        except InvalidCases as error:
            problems.append(f"case {number}: {error.message}")
    ids = [c.id for c in cases]
    problems += [f"duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise InvalidCases(f"{path}: " + "; ".join(problems))
    return tuple(cases)


def case_from(*, item: Any) -> EvalCase:
    if not isinstance(item, dict):
        raise InvalidCases("a case is a mapping")
    case_id, category = item.get("id"), item.get("category")
    if not isinstance(case_id, str) or not case_id:
        raise InvalidCases("'id' is missing")
    if category not in CATEGORIES:
        raise InvalidCases(f"{case_id}: category {category!r} is not one of {CATEGORIES}")
    turns = item.get("turns") or ([item["question"]] if "question" in item else [])
    if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise InvalidCases(f"{case_id}: needs a 'question' or a list of 'turns'")
    sql = item.get("sql")
    expect = item.get("expect", "sql" if sql else None)
    if expect not in EXPECTATIONS:
        raise InvalidCases(f"{case_id}: expect {expect!r} is not one of {EXPECTATIONS}")
    if (expect == "sql") != bool(sql):
        raise InvalidCases(f"{case_id}: golden 'sql' is required for expect sql, and only then")
    search = item.get("search") or {}
    unknown = set(search) - set(SEARCH_FILTERS)
    if unknown or (search and expect != "search"):
        raise InvalidCases(f"{case_id}: 'search' takes {SEARCH_FILTERS} with expect search")
    return EvalCase(
        id=case_id,
        category=category,
        turns=tuple(normalise(t) for t in turns),
        expect=expect,
        sql=sql.strip() if sql else None,
        search=dict(search),
        forbidden=tuple(item.get("forbidden") or ()),
    )


def shared_with_examples(
    *, cases: tuple[EvalCase, ...], examples: tuple[Example, ...]
) -> list[str]:
    """Questions or SQL texts that appear both in the cases and in the verified examples
    (compared with whitespace collapsed, questions also case-insensitively)."""
    questions = {normalise(e.question).lower() for e in examples}
    sqls = {normalise(e.sql) for e in examples}
    shared = [t for c in cases for t in c.turns if normalise(t).lower() in questions]
    shared += [f"SQL of {c.id}" for c in cases if c.sql and normalise(c.sql) in sqls]
    return shared
