"""Curation (app.agent.curation): the dry run that verifies an admin's SQL before it becomes
a verified query runs it exactly as the chat will, at the chat's caps."""

from __future__ import annotations

from datetime import date

import pytest
import pytest_asyncio

from app.agent.curation import RefusedQuery, dry_run
from tests.factories import seeded_shop

# About 10 ms a row: a handful of rows pass any timeout, the chat's 500 do not pass 1 s.
SLOW_PER_ROW = (
    "SELECT n, (SELECT count(*) FROM generate_series(1, 150000 + n * 0)) AS work "
    "FROM generate_series(1, 1000) AS n"
)


@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings):
    return await seeded_shop(engine, settings, "cur-a", seed=5, orders=50, end=date(2026, 11, 22))


@pytest.fixture
def chat_executor(make_executor):
    """The executor the chat and the admin pages share, with a 1 s statement timeout."""
    return make_executor(statement_timeout_ms=1000)


async def test_the_dry_run_refuses_sql_that_the_chat_could_not_run(shop, chat_executor):
    """A dry run of five rows let through SQL that times out when the chat reads its 500."""
    with pytest.raises(RefusedQuery, match="not verified"):
        await dry_run(chat_executor, tenant_id=shop, sql=SLOW_PER_ROW)
    with pytest.raises(Exception, match="1000 ms"):
        await chat_executor.run(tenant_id=shop, sql=SLOW_PER_ROW)  # what the chat would see


async def test_the_dry_run_returns_the_sql_to_store(shop, chat_executor):
    sql = await dry_run(chat_executor, tenant_id=shop, sql="  SELECT count(*) FROM orders;  ")
    assert sql == "SELECT count(*) FROM orders"
