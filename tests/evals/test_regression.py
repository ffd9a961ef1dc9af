"""Verified queries as a regression suite: every ``prompts/examples.yaml`` query must still
give the result recorded in ``snapshots/examples.json`` on the deterministic demo shop
(seed, size and end date fixed; the clock frozen at ``CLOCK`` so relative periods stay put).

A query that no longer reproduces its result fails here: a changed schema, view, seed
generator or example. When the change is intended, rewrite the snapshot:

    python -m pytest tests/evals/test_regression.py --update-snapshots -p no:xdist
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest_asyncio

from app.evals.regression import freeze_clock, result_digest
from app.evals.runner import query_table
from app.store.verified import load_examples
from tests.evals.conftest import EVALS_DIR, option, seed_eval_shop

SNAPSHOT = EVALS_DIR / "snapshots" / "examples.json"
SHOP = {"slug": "regression-shop", "seed": 41, "orders": 300, "products": 170, "end": "2026-11-22"}
CLOCK = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EXAMPLES = load_examples()


@pytest_asyncio.fixture(scope="module")
async def regression_shop(engine, settings):
    return await seed_eval_shop(
        engine,
        settings,
        slug=SHOP["slug"],
        seed=SHOP["seed"],
        orders=SHOP["orders"],
        products=SHOP["products"],
        end=date.fromisoformat(SHOP["end"]),
    )


async def digests_of(executor, shop, examples) -> dict[str, dict]:
    digests = {}
    for example in examples:
        sql = freeze_clock(sql=example.sql, now=CLOCK)
        table = await query_table(executor=executor, tenant_id=shop.id, sql=sql)
        digests[example.question] = result_digest(table=table)
    return digests


async def test_each_verified_query_reproduces_its_snapshot(
    regression_shop, eval_tools, pytestconfig
):
    digests = await digests_of(eval_tools[0], regression_shop, EXAMPLES)
    wanted = {"shop": SHOP, "clock": CLOCK.isoformat(), "queries": digests}
    if option(pytestconfig, "eval_update_snapshots", False):
        SNAPSHOT.write_text(json.dumps(wanted, indent=2, ensure_ascii=False) + "\n")
    snapshot = json.loads(SNAPSHOT.read_text())
    assert (snapshot["shop"], snapshot["clock"]) == (SHOP, CLOCK.isoformat())
    recorded = snapshot["queries"]
    changed = {
        question: {"snapshot": recorded.get(question), "now": digest}
        for question, digest in digests.items()
        if recorded.get(question) != digest
    }
    assert changed == {}, "verified queries no longer reproduce their snapshot (see the docstring)"
    assert set(recorded) == set(digests), "the snapshot has questions that are no longer examples"
    assert sum(d["rows"] > 0 for d in digests.values()) >= len(EXAMPLES) - 3


async def test_a_query_that_changes_its_result_no_longer_matches(regression_shop, eval_tools):
    recorded = json.loads(SNAPSHOT.read_text())["queries"]
    example = next(e for e in EXAMPLES if recorded[e.question]["rows"] > 1)
    frozen = freeze_clock(sql=example.sql, now=CLOCK).rstrip().rstrip(";")
    for variant in (
        f"SELECT * FROM ({frozen}) AS q OFFSET 1",
        f"SELECT * FROM ({frozen}) AS q LIMIT 0",
    ):
        table = await query_table(executor=eval_tools[0], tenant_id=regression_shop.id, sql=variant)
        assert result_digest(table=table) != recorded[example.question]


CLOCK_WORDS = re.compile(
    r"\b(now|current_date|current_timestamp|localtimestamp|clock_timestamp)\b", re.I
)


def test_the_frozen_clock_leaves_no_clock_function_behind():
    assert any(CLOCK_WORDS.search(e.sql) for e in EXAMPLES)
    for example in EXAMPLES:
        assert not CLOCK_WORDS.search(freeze_clock(sql=example.sql, now=CLOCK)), example.question
    frozen = freeze_clock(sql="SELECT now(), CURRENT_DATE, current_timestamp", now=CLOCK)
    assert frozen == (
        "SELECT (TIMESTAMPTZ '2026-11-22T12:00:00+00:00'), "
        "((TIMESTAMPTZ '2026-11-22T12:00:00+00:00')::date), (TIMESTAMPTZ '2026-11-22T12:00:00+00:00')"
    )
