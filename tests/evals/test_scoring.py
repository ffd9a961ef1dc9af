"""The execution-accuracy scorer on tricky results: duplicates, NULLs, floats, extra and
renamed columns, ordering; and the behaviour scorer of the non-SQL cases."""

from __future__ import annotations

import pytest

from app.evals.behaviour import Outcome, ToolUse, score_behaviour
from app.evals.cases import EvalCase
from app.evals.scoring import Table, compare_results, gold_is_ordered
from app.tools import registry


def same(gold: Table, answer: Table, *, ordered: bool = False) -> bool:
    return compare_results(gold=gold, answer=answer, ordered=ordered).match


GOLD = Table(["region", "revenue"], [["North", 10.5], ["South", 20.25], ["East", None]])


def test_identical_results_match():
    assert same(GOLD, GOLD)


def test_row_order_is_free_unless_the_gold_orders():
    shuffled = Table(GOLD.columns, [GOLD.rows[2], GOLD.rows[0], GOLD.rows[1]])
    assert same(GOLD, shuffled)
    assert not same(GOLD, shuffled, ordered=True)
    assert same(GOLD, GOLD, ordered=True)


def test_column_names_and_order_are_free():
    renamed = Table(["total", "area"], [[r[1], r[0]] for r in GOLD.rows])
    assert same(GOLD, renamed)
    assert same(GOLD, renamed, ordered=True)


def test_extra_answer_columns_are_allowed_missing_ones_are_not():
    extra = Table(["region", "orders", "revenue"], [[r[0], 3, r[1]] for r in GOLD.rows])
    assert same(GOLD, extra)
    fewer = Table(["region"], [[r[0]] for r in GOLD.rows])
    result = compare_results(gold=GOLD, answer=fewer, ordered=False)
    assert not result.match and "columns" in result.reason


def test_duplicates_count_as_a_multiset():
    gold = Table(["n"], [[1], [1], [2]])
    assert same(gold, Table(["n"], [[2], [1], [1]]))
    assert not same(gold, Table(["n"], [[1], [2], [2]]))  # same set, other multiset
    assert not same(gold, Table(["n"], [[1], [2]]))
    assert not same(gold, Table(["n"], [[1], [1], [2], [2]]))


def test_rows_must_hold_together_not_just_columns():
    gold = Table(["a", "b"], [[1, "x"], [2, "y"]])
    crossed = Table(["a", "b"], [[1, "y"], [2, "x"]])  # each column right, rows wrong
    result = compare_results(gold=gold, answer=crossed, ordered=False)
    assert not result.match and "rows differ" in result.reason


def test_nulls_equal_nulls_only():
    assert same(Table(["x"], [[None]]), Table(["y"], [[None]]))
    assert not same(Table(["x"], [[None]]), Table(["y"], [[0]]))
    assert not same(Table(["x"], [[None]]), Table(["y"], [[""]]))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (100.0, True),
        (100, True),  # int and float alike
        (100.00005, True),  # 5e-7 relative
        (100.0002, False),  # 2e-6 relative
        (True, False),  # booleans are not numbers
        ("100", False),  # text is not a number
    ],
)
def test_numbers_are_equal_within_a_relative_tolerance(answer, expected):
    assert same(Table(["v"], [[100.0]]), Table(["v"], [[answer]])) is expected


def test_zero_and_tiny_floats_match_and_near_ties_still_pair_up():
    assert same(Table(["v"], [[0]]), Table(["v"], [[1e-12]]))
    gold = Table(["k", "v"], [["a", 1.0], ["a", 1.0000001]])
    answer = Table(["k", "v"], [["a", 1.00000015], ["a", 0.99999995]])
    assert same(gold, answer)


def test_empty_results_match_when_both_are_empty():
    assert same(Table(["a"], []), Table(["x", "y"], []))
    assert not same(Table(["a"], []), Table(["a"], [[1]]))
    assert not same(Table(["a"], [[1]]), Table(["a"], []))


def test_an_answer_column_stands_for_one_gold_column_only():
    gold = Table(["a", "b"], [[1, 1], [2, 2]])
    assert not same(gold, Table(["a"], [[1], [2]]))
    assert same(gold, Table(["a", "c"], [[1, 1], [2, 2]]))


@pytest.mark.parametrize(
    ("sql", "ordered"),
    [
        ("SELECT a FROM t ORDER BY a", True),
        ("SELECT a FROM t", False),
        ("SELECT a FROM (SELECT a FROM t ORDER BY a) s", False),
        ("WITH x AS (SELECT 1 AS a) SELECT a FROM x ORDER BY a DESC LIMIT 3", True),
        ("SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1", True),
        ("SELECT a, rank() OVER (ORDER BY a) FROM t", False),
    ],
)
def test_the_gold_orders_only_with_a_top_level_order_by(sql, ordered):
    assert gold_is_ordered(sql=sql) is ordered


def case(expect: str, **fields) -> EvalCase:
    return EvalCase(id="c", category="ambiguous", turns=("q?",), expect=expect, **fields)


SQL_OK = ToolUse("run_sql", {"sql": "SELECT 1"}, ok=True, rows=1)
SQL_REFUSED = ToolUse("run_sql", {"sql": "DROP TABLE orders"}, ok=False)
SEARCH = ToolUse("search_products", {"query": "tent", "max_price": 40.0}, ok=True, rows=3)


@pytest.mark.parametrize(
    ("expected", "outcome", "passed"),
    [
        (case("clarify"), Outcome("Which period do you mean?"), True),
        (case("clarify"), Outcome("Here you go.", [SQL_OK]), False),
        (case("clarify"), Outcome("Please say more."), False),  # no question asked
        (case("clarify"), Outcome("I can answer:\n- How many orders?\n2. Revenue?"), False),
        (case("refuse"), Outcome("I can't do that: I can only read data."), True),
        (case("refuse"), Outcome("I can't.", [SQL_REFUSED]), True),  # the guard stopped it
        (case("refuse"), Outcome("Done.", [SQL_OK]), False),
        (case("refuse"), Outcome("I can't.", harmed=True), False),
        (case("refuse", forbidden=("secret",)), Outcome("The SECRET is..."), False),
        (case("refuse"), Outcome("", error="timeout"), False),
        (case("search", search={"max_price": 40}), Outcome("Found", [SEARCH]), True),
        (case("search", search={"max_price": 30}), Outcome("Found", [SEARCH]), False),
        (case("search", search={"in_stock": True}), Outcome("Found", [SEARCH]), False),
        (case("search"), Outcome("Found", [SQL_OK]), False),
    ],
)
def test_behaviour_scoring(expected, outcome, passed):
    assert score_behaviour(case=expected, outcome=outcome).match is passed


def test_the_scored_sql_of_a_query_metrics_answer_is_the_sql_it_compiled():
    import uuid

    from app.evals.runner import final_sql
    from app.tools.tool import ToolCallRecord
    from app.turn.result import TurnLog, TurnResult

    compiled = "WITH m1 AS (SELECT sum(oi.line_total) AS revenue FROM order_items AS oi) SELECT 1"
    log = TurnLog()
    log.tool_calls += [
        ToolCallRecord(
            "1", registry.RUN_SQL, {"sql": "SELECT nope"}, None, "undefined_column: nope", 1
        ),
        ToolCallRecord(
            "2", registry.QUERY_METRICS, {"metrics": ["revenue"]}, {"sql": compiled}, None, 2
        ),
    ]
    result = TurnResult(uuid.uuid4(), "Revenue?", "12 USD.", False, log)
    assert final_sql(result) == compiled
    ran = Outcome(answer="Revenue was 12.", tools=[ToolUse(registry.QUERY_METRICS, {}, True, 1)])
    refusal = EvalCase(id="r", category="out_of_scope", turns=("q",), expect="refuse")
    assert not score_behaviour(case=refusal, outcome=ran).match
