"""``bichat metrics`` and ``bichat query``, and the values index rebuilt by seed, load-csv and
embed."""

from __future__ import annotations

import asyncio
import json

import pytest

from db.engine import connect_raw
from tests.app.cli.conftest import seeded_through_cli


def values_state(url: str, slug: str) -> tuple[object, int]:
    async def read() -> tuple[object, int]:
        connection = await connect_raw(url, timeout_s=10)
        try:
            row = await connection.fetchrow(
                "SELECT r.refreshed_at, (SELECT count(*) FROM dimension_values v WHERE "
                "v.tenant_id = t.id) AS n FROM tenants t LEFT JOIN dimension_value_refreshes r "
                "ON r.tenant_id = t.id WHERE t.slug = $1",
                slug,
            )
            return row["refreshed_at"], row["n"]
        finally:
            await connection.close()

    return asyncio.run(read())


@pytest.fixture(scope="module")
def seeded(database_url, tmp_path_factory):
    """A shop seeded through the CLI (which rebuilds its values index)."""
    data_dir = str(tmp_path_factory.mktemp("data"))
    return seeded_through_cli(
        database_url, data_dir, "cli-sem", "--orders", "400", "--end-date", "2026-11-22"
    )


def test_seed_rebuilds_the_values_index(seeded, database_url):
    refreshed_at, values = values_state(database_url, seeded)
    assert refreshed_at is not None and values > 100


def test_load_csv_and_embed_rebuild_the_values_index(bichat, seeded, database_url, tmp_path):
    exported = bichat("db", "export-csv", "--tenant", seeded, str(tmp_path / "csv"))
    assert exported.exit_code == 0, exported.output
    assert bichat("tenants", "create", "cli-sem-copy", "--name", "Copy").exit_code == 0
    assert values_state(database_url, "cli-sem-copy") == (None, 0)
    loaded = bichat("db", "load-csv", "--tenant", "cli-sem-copy", str(tmp_path / "csv"))
    assert loaded.exit_code == 0, loaded.output
    after_load, count = values_state(database_url, "cli-sem-copy")
    assert after_load is not None and count == values_state(database_url, seeded)[1]
    assert bichat("tenants", "create", "cli-sem-empty", "--name", "Empty").exit_code == 0
    embedded = bichat("db", "embed", "--tenant", "cli-sem-empty")  # nothing to embed: quick
    assert embedded.exit_code == 0, embedded.output
    assert values_state(database_url, "cli-sem-empty")[0] is not None


def test_metrics_lists_metrics_and_dimensions_with_the_shops_values(bichat, seeded):
    result = bichat("metrics", "--tenant", seeded, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    metrics = {m["name"]: m for m in data["metrics"]}
    assert {"revenue", "average_order_value", "conversion_rate", "stock_value"} <= set(metrics)
    assert "costed_revenue" not in metrics  # hidden components are not offered
    assert "category" in metrics["revenue"]["dimensions"]
    assert "category" not in metrics["average_order_value"]["dimensions"]
    assert metrics["revenue"]["time"] == ["placed"] and metrics["stock_value"]["time"] == []
    dimensions = {d["name"]: d for d in data["dimensions"]}
    assert set(dimensions["channel"]["values"]) <= {"Web", "Mobile", "Marketplace", "Store"}
    assert dimensions["placed"]["kind"] == "time"
    assert data["grains"] == ["day", "week", "month", "quarter", "year", "weekday", "hour"]
    human = bichat("metrics", "--tenant", seeded)
    assert human.exit_code == 0 and "revenue" in human.stdout and "grains:" in human.stdout


def test_query_prints_the_tools_result(bichat, seeded):
    result = bichat(
        "query", "--tenant", seeded, "--metric", "revenue", "--metric", "orders",
        "--by", "channel", "--where", "channel=web", "--where", "channel=Mobile",
        "--from", "2026-01-01", "--to", "2026-06-30", "--compare", "year", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"sql", "columns", "rows", "row_count", "truncated", "elapsed_ms"} <= set(data)
    assert data["columns"][:3] == ["channel", "revenue", "revenue_previous"]
    assert {row[0] for row in data["rows"]} <= {"web", "mobile"}
    assert data["interpretation"] == (
        "Revenue and Orders by channel · 1 Jan – 30 Jun 2026 · vs 1 Jan – 30 Jun 2025 "
        "(a year earlier) · channel: Web or Mobile · order totals of paid, shipped or delivered "
        "orders"
    )
    assert data["period"]["from"] == "2026-01-01" and data["partial"] is False
    assert data["comparison"]["kind"] == "year"
    human = bichat("query", "--tenant", seeded, "--metric", "units", "--by", "brand", "--top", "3")
    assert human.exit_code == 0, human.output
    assert human.stdout.startswith("Units sold by brand · all time") and "3 row(s)" in human.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--metric", "revnue"], "unknown_metric"),
        (["--metric", "revenue", "--by", "colour"], "unknown_dimension"),
        (["--metric", "revenue", "--where", "channel=telepathy"], "unknown_value"),
        (["--metric", "revenue", "--where", "channel"], "invalid_filter"),
        (["--metric", "revenue", "--from", "2026-02-30"], "invalid_date"),
        (["--metric", "revenue", "--from", "2026-03-01", "--to", "2026-02-01"], "invalid_range"),
        (["--metric", "revenue", "--period", "someday"], "invalid_period"),
        (["--metric", "revenue", "--grain", "decade"], "invalid_query"),
        (["--metric", "revenue", "--top", "3", "--bottom", "3"], "invalid_query"),
    ],
)
def test_query_errors_are_json_with_exit_1(bichat, seeded, args, code):
    result = bichat("query", "--tenant", seeded, *args, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["error"]["code"] == code
    human = bichat("query", "--tenant", seeded, *args)
    assert human.exit_code == 1 and human.stderr.startswith("error: ")


def test_query_of_an_unknown_tenant(bichat):
    result = bichat("query", "--tenant", "nowhere", "--metric", "revenue", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "unknown_tenant"
