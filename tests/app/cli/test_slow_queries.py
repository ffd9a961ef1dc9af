"""``bichat admin slow-queries``: a shop's slowest reader queries, run here with ``bichat sql``
(the SQL tool, as the shop's reader role); never another shop's."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from db.engine import create_engine
from tests.app.cli.conftest import shop_with_user


def test_a_shops_slow_queries_and_not_another_shops(bichat):
    mine = shop_with_user(bichat, "slow-a", "A", "slow-ann")
    theirs = shop_with_user(bichat, "slow-b", "B", "slow-bob")
    for _ in range(2):
        ran = bichat(
            "sql", "--tenant", mine, "SELECT count(*) AS cli_mine FROM orders WHERE id > 3"
        )
        assert ran.exit_code == 0, ran.output
    assert bichat("sql", "--tenant", theirs, "SELECT 1 AS cli_theirs").exit_code == 0

    listed = bichat("admin", "slow-queries", "--tenant", mine, "--sort", "total", "--json")
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.stdout)
    assert found["sort"] == "total" and found["since"]
    [query] = [q for q in found["queries"] if "cli_mine" in q["query"]]
    assert query["calls"] == 2 and query["total_ms"] >= query["max_ms"] > 0
    assert query["query"].startswith("SELECT COUNT(*) AS cli_mine")  # without the wrapper
    assert not any("cli_theirs" in q["query"] for q in found["queries"])

    human = bichat("admin", "slow-queries", "--tenant", theirs)
    assert human.exit_code == 0 and "cli_theirs" in human.stdout and "cli_mine" not in human.stdout
    assert "2 calls" not in human.stdout and "1 call ·" in human.stdout


def test_a_bad_sort_and_missing_statistics_are_one_line_errors(bichat, database_url):
    shop = shop_with_user(bichat, "slow-a", "A", "slow-ann")
    bad = bichat("admin", "slow-queries", "--tenant", shop, "--sort", "rows")
    assert bad.exit_code == 1 and "mean or total" in bad.output

    async def execute(sql: str) -> None:
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text(sql))
        await engine.dispose()

    asyncio.run(execute("DROP EXTENSION pg_stat_statements"))
    try:
        missing = bichat("admin", "slow-queries", "--tenant", shop, "--json")
    finally:
        asyncio.run(execute("CREATE EXTENSION pg_stat_statements"))
    assert missing.exit_code == 1
    assert json.loads(missing.stdout)["error"]["code"] == "statistics_unavailable"
