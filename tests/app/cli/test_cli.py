"""The ``bichat`` CLI: contracts, one-line errors with non-zero exits, nothing written on error."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from db.engine import connect_raw

WATCHED_TABLES = ("tenants", "app_users", "tenant_readers")


def row_counts(url: str) -> dict[str, int]:
    """Rows per watched table, read on a connection of its own (sync tests, no running loop)."""

    async def read() -> dict[str, int]:
        connection = await connect_raw(url, timeout_s=10)
        try:
            return {
                t: await connection.fetchval(f"SELECT count(*) FROM {t}") for t in WATCHED_TABLES
            }
        finally:
            await connection.close()

    return asyncio.run(read())


def test_tenant_and_user_lifecycle_with_json(bichat):
    created = bichat("tenants", "create", "cli-shop", "--name", "CLI Shop", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["slug"] == "cli-shop"
    user = bichat(
        "users",
        "create",
        "cli-admin",
        "--tenant",
        "cli-shop",
        "--admin",
        "--password-stdin",
        "--json",
        stdin="pa55word-long\n",
    )
    assert user.exit_code == 0, user.output
    assert json.loads(user.stdout)["role"] == "admin"
    users = json.loads(bichat("users", "list", "--tenant", "cli-shop", "--json").stdout)
    assert [u["username"] for u in users] == ["cli-admin"]
    tenants = json.loads(bichat("tenants", "list", "--json").stdout)
    assert "cli-shop" in [t["slug"] for t in tenants]
    deleted = bichat("tenants", "delete", "cli-shop", "--yes", "--json")
    assert deleted.exit_code == 0
    assert json.loads(deleted.stdout)["rows"]["app_users"] == 1


def test_human_output_of_status(bichat):
    result = bichat("db", "status")
    assert result.exit_code == 0
    assert "PostgreSQL 16" in result.stdout and "up to date" in result.stdout


def test_status_json_contract(bichat):
    status = json.loads(bichat("db", "status", "--json").stdout)
    assert {"url", "embedded", "revision", "postgres", "pgvector"} <= set(status)
    assert status["embedded"] is False
    assert status["revision"] == status["head"]
    assert status["url"].startswith("postgresql://")


BAD_INPUTS = [
    (["tenants", "create", "Bad Slug", "--name", "X"], None, "invalid tenant slug"),
    (["tenants", "create", "ok-slug", "--name", " "], None, "name is empty"),
    (["tenants", "create", "ok-slug", "--name", "X", "--currency", "usd"], None, "ISO 4217"),
    (["tenants", "delete", "no-such-shop", "--yes"], None, "unknown tenant"),
    (["tenants", "delete", "no-such-shop"], None, "add --yes"),
    (
        ["users", "create", "zed", "--tenant", "no-such-shop", "--password-stdin"],
        "pa55word-long",
        "unknown tenant",
    ),
    (
        ["users", "create", "zed", "--tenant", "dup-shop", "--password-stdin"],
        "",
        "password is empty",
    ),
    (
        ["users", "create", "zed", "--tenant", "dup-shop", "--password-stdin"],
        "\n",
        "password is empty",
    ),
    (["users", "create", "zed", "--tenant", "dup-shop"], None, "--password-stdin"),
    (
        ["users", "create", "bad name", "--tenant", "dup-shop", "--password-stdin"],
        "pa55word-long",
        "invalid username",
    ),
    (["tenants", "create", "dup-shop", "--name", "Again"], None, "already exists"),
]


@pytest.mark.parametrize(("args", "stdin", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_nonzero_and_writes_nothing(
    bichat, database_url, args, stdin, message
):
    bichat("tenants", "create", "dup-shop", "--name", "Dup")  # exists after the first case
    before = row_counts(database_url)
    result = bichat(*args, stdin=stdin)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert row_counts(database_url) == before


def test_json_errors_are_objects_with_a_code(bichat):
    result = bichat("tenants", "delete", "no-such-shop", "--yes", "--json")
    assert result.exit_code == 1
    assert (
        json.loads(result.stdout)
        == {
            "error": {
                "code": "unknown_tenant",
                "message": "unknown tenant 'no-such-shop'. See `bichat tenants list`.",
            }
        }
        or json.loads(result.stdout)["error"]["code"] == "unknown_tenant"
    )


def test_unreachable_database_is_one_line(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    env = {
        "BICHAT_DATABASE_URL": "postgresql://u:pw@127.0.0.1:9/shop",
        "BICHAT_CONNECT_TIMEOUT_S": "2",
    }
    result = CliRunner().invoke(app, ["tenants", "list"], env=env)
    assert result.exit_code == 1
    assert (
        result.stderr.count("\n") == 1
        and "cannot connect to postgresql://u:***@127.0.0.1:9/shop" in result.stderr
    )


def test_malformed_setting_is_one_line(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["db", "status", "--json"], env={"BICHAT_DATABASE_URL": "mysql://x/y"}
    )
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "config_error" and "BICHAT_DATABASE_URL" in error["message"]


def test_seed_export_load_and_rules_through_the_cli(bichat, tmp_path):
    seeded = bichat(
        "db",
        "seed",
        "--tenant",
        "cli-demo",
        "--seed",
        "3",
        "--orders",
        "400",
        "--end-date",
        "2026-11-22",
        "--json",
    )
    assert seeded.exit_code == 0, seeded.output
    report = json.loads(seeded.stdout)
    assert report["rows"]["orders"] == 400 and report["end_date"] == "2026-11-22"
    again = bichat("db", "seed", "--tenant", "cli-demo")
    assert again.exit_code == 1 and "--replace" in again.stderr
    exported = bichat("db", "export-csv", "--tenant", "cli-demo", str(tmp_path / "out"), "--json")
    assert json.loads(exported.stdout)["files"]["orders.csv"] == 400
    assert bichat("tenants", "create", "cli-copy", "--name", "Copy").exit_code == 0
    loaded = bichat("db", "load-csv", "--tenant", "cli-copy", str(tmp_path / "out"), "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["written"]["orders"] == 400
    rules = bichat("db", "rules", "--tenant", "cli-copy", "--min-support", "0.01", "--json")
    assert rules.exit_code == 0 and json.loads(rules.stdout)["bundle_rules"] >= 0


def test_load_csv_reports_every_bad_line_and_exits_nonzero(bichat, tmp_path, database_url):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "categories.csv").write_text(
        "slug,name,parent_slug,description\nok,OK,,\nBad Slug,X,,\nchild,Child,missing,\n"
    )
    bichat("tenants", "create", "cli-bad", "--name", "Bad")
    before = row_counts(database_url)
    result = bichat("db", "load-csv", "--tenant", "cli-bad", str(folder))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: 2 problem(s), nothing was written:"
    assert lines[1].startswith("categories.csv:3: slug")
    assert lines[2] == "categories.csv:4: unknown category 'missing' in parent_slug"
    as_json = json.loads(
        bichat("db", "load-csv", "--tenant", "cli-bad", str(folder), "--json").stdout
    )
    assert as_json["error"]["code"] == "invalid_csv" and len(as_json["error"]["problems"]) == 2
    assert row_counts(database_url) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["db", "seed", "--tenant", "x", "--end-date", "tomorrow"], "invalid --end-date"),
        (["db", "rules", "--tenant", "nope"], "unknown tenant"),
        (
            ["db", "rules", "--tenant", "dup-shop", "--min-support", "2"],
            "--min-support must be in (0, 1]",
        ),
        (["db", "load-csv", "--tenant", "dup-shop", "/no/such/folder"], "not a folder"),
        (["db", "export-csv", "--tenant", "nope", "/tmp/x"], "unknown tenant"),
    ],
)
def test_data_commands_refuse_bad_input(bichat, args, message):
    bichat("tenants", "create", "dup-shop", "--name", "Dup")
    result = bichat(*args)
    assert result.exit_code == 1 and message in result.stderr, result.output


def test_embed_and_search_through_the_cli(bichat):
    assert (
        bichat(
            "db", "seed", "--tenant", "cli-search", "--orders", "50", "--end-date", "2026-11-22"
        ).exit_code
        == 0
    )
    before = bichat("search", "--tenant", "cli-search", "tent")
    assert before.exit_code == 1 and "bichat db embed --tenant cli-search" in before.stderr
    embedded = json.loads(bichat("db", "embed", "--tenant", "cli-search", "--json").stdout)
    assert embedded["embedded"] > 600 and embedded["model"] == "all-MiniLM-L6-v2"
    found = bichat(
        "search",
        "--tenant",
        "cli-search",
        "--max-price",
        "40",
        "--in-stock",
        "--limit",
        "5",
        "--json",
        "something to keep coffee hot on the train",
    )
    assert found.exit_code == 0, found.output
    results = json.loads(found.stdout)["results"]
    assert len(results) == 5 and all(r["price"] <= 40 and r["stock_quantity"] > 0 for r in results)
    bad = bichat("search", "--tenant", "cli-search", "--min-price", "9", "--max-price", "1", "x")
    assert bad.exit_code == 1 and "greater than max_price" in bad.stderr


def test_sql_through_the_cli_plain_json_and_jsonl(bichat):
    seeded = bichat(
        "db", "seed", "--tenant", "cli-sql", "--orders", "60", "--end-date", "2026-11-22"
    )
    assert seeded.exit_code == 0, seeded.output
    plain = bichat(
        "sql",
        "--tenant",
        "cli-sql",
        "SELECT count(*), count(DISTINCT status) AS count FROM orders",
    )
    assert plain.exit_code == 0, plain.output
    # both columns are named count: both must show (a dict of the row kept only one)
    assert "│ 60 " in plain.stdout and plain.stdout.count("count") >= 2
    assert "1 row(s)" in plain.stdout
    as_json = json.loads(bichat("sql", "--tenant", "cli-sql", "--json", "SELECT 1 AS one").stdout)
    assert as_json["rows"] == [[1]] and as_json["truncated"] is False
    lines = "\n".join(
        ['{"sql": "SELECT count(*) AS n FROM orders"}', "not json", '{"sql": "DROP TABLE orders"}']
    )
    batch = bichat("sql", "--tenant", "cli-sql", "--jsonl", stdin=lines)
    assert batch.exit_code == 1
    first, second, third = (json.loads(line) for line in batch.stdout.splitlines())
    assert first["rows"] == [[60]]
    assert second["error"]["code"] == "invalid_jsonl"
    assert third["error"]["code"] == "not_read_only"
    rejected = bichat("sql", "--tenant", "cli-sql", "SELECT email FROM customers")
    assert rejected.exit_code == 1 and rejected.stderr.startswith("error: ")
