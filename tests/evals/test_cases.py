"""The golden question set: size, categories, no overlap with the verified examples, and a
loader that names what is wrong with a bad file."""

from __future__ import annotations

import pytest

from app.evals.cases import CATEGORIES, InvalidCases, load_cases, shared_with_examples
from app.sqlguard import check_sql
from app.store.verified import Example, load_examples
from app.tools.sql import PRIVATE_COLUMNS, READER_SCHEMAS, READER_TABLES
from tests.evals.conftest import EVALS_DIR, QUESTIONS

CASES = load_cases(path=QUESTIONS)
MORE = load_cases(path=EVALS_DIR / "questions_more.yaml")


def test_at_least_60_questions_in_every_category():
    assert len(CASES) >= 60
    counts = {c: sum(case.category == c for case in CASES) for c in CATEGORIES}
    assert all(n >= 3 for n in counts.values()), counts
    assert {c.expect for c in CASES if c.category == "ambiguous"} == {"clarify"}
    assert {c.expect for c in CASES if c.category in ("out_of_scope", "injection")} == {"refuse"}
    assert {c.expect for c in CASES if c.category == "product_search"} == {"search"}
    assert any(len(c.turns) > 1 for c in CASES if c.category == "follow_up")


def test_no_question_and_no_sql_is_shared_with_the_verified_examples():
    for cases in (CASES, MORE):
        assert shared_with_examples(cases=cases, examples=load_examples()) == []
        assert len({t.lower() for c in cases for t in c.turns}) == sum(len(c.turns) for c in cases)
    assert not {t.lower() for c in CASES for t in c.turns} & {
        t.lower() for c in MORE for t in c.turns
    }


def test_the_overlap_check_finds_shared_questions_and_sql():
    case = next(c for c in CASES if c.sql)
    examples = (
        Example(question="  " + case.question.upper() + " ", sql="SELECT 1"),
        Example(question="other", sql=case.sql.replace(" ", "  ")),
    )
    assert shared_with_examples(cases=(case,), examples=examples) == [
        case.question,
        f"SQL of {case.id}",
    ]


@pytest.mark.parametrize("case", [c for c in (*CASES, *MORE) if c.sql], ids=lambda c: c.id)
def test_each_golden_sql_passes_the_guard(case):
    check_sql(
        case.sql, set(READER_TABLES), private_columns=PRIVATE_COLUMNS, table_schemas=READER_SCHEMAS
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cases: []", "non-empty list"),
        ("cases: [{id: a, category: nope, question: q, expect: clarify}]", "category 'nope'"),
        ("cases: [{id: a, category: joins, question: q}]", "expect None"),
        (
            "cases: [{id: a, category: joins, question: q, expect: clarify, sql: SELECT 1}]",
            "only then",
        ),
        ("cases: [{id: a, category: joins, expect: clarify}]", "needs a 'question'"),
        (
            "cases: [{id: a, category: product_search, question: q, expect: search, "
            "search: {colour: red}}]",
            "'search' takes",
        ),
        (
            "cases: [{id: a, category: ambiguous, question: q, expect: clarify}, "
            "{id: a, category: ambiguous, question: r, expect: clarify}]",
            "duplicate id 'a'",
        ),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(tmp_path, text, words):
    path = tmp_path / "questions.yaml"
    path.write_text(text)
    with pytest.raises(InvalidCases, match=words.replace("(", r"\(").replace("'", "'")):
        load_cases(path=path)
