"""``--tenant`` may be left out when the database has exactly one tenant; with none or
several, the error says what to do and names the tenants."""

from __future__ import annotations

import json

import click
import typer

from app.cli.main import app
from tests.app.cli.test_cli import row_counts


def commands_with_tenant_option() -> dict[str, click.Parameter]:
    found: dict[str, click.Parameter] = {}

    def walk(command: click.Command, path: str) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")
        for parameter in command.params:
            if "--tenant" in getattr(parameter, "opts", []):
                found[path] = parameter

    walk(typer.main.get_command(app), "bichat")
    return found


def test_every_tenant_option_may_be_left_out():
    options = commands_with_tenant_option()
    assert {"bichat admin usage", "bichat sql", "bichat ask", "bichat db seed"} <= set(options)
    required = [path for path, option in options.items() if option.required]
    assert required == []


def error_of(result) -> dict[str, str]:
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)["error"]


def test_no_tenant_several_tenants_and_the_only_one(bichat, database_url):
    # none yet: say how to create one
    error = error_of(bichat("admin", "usage", "--json"))
    assert error["code"] == "tenant_required"
    assert "bichat tenants create" in error["message"]

    # exactly one: every command takes it
    assert bichat("tenants", "create", "solo-shop", "--name", "Solo").exit_code == 0
    usage = bichat("admin", "usage", "--by", "model", "--json")
    assert usage.exit_code == 0, usage.output
    assert json.loads(usage.stdout)["rows"] == []
    assert json.loads(bichat("admin", "sessions", "--json").stdout)["total"] == 0
    ran = bichat("sql", "--json", "SELECT count(*) AS n FROM orders")
    assert json.loads(ran.stdout)["rows"] == [[0]]
    created = bichat(
        "users",
        "create",
        "solo-admin",
        "--admin",
        "--password-stdin",
        "--json",
        stdin="a-long-password\n",
    )
    assert json.loads(created.stdout)["tenant"] == "solo-shop"
    assert json.loads(bichat("db", "rules", "--json").stdout)["tenant"] == "solo-shop"
    assert bichat("admin", "usage").exit_code == 0  # the human table too

    # several: name them, change nothing
    assert bichat("tenants", "create", "second-shop", "--name", "Second").exit_code == 0
    before = row_counts(database_url)
    for args in (
        ["admin", "usage"],
        ["sql", "SELECT 1"],
        ["users", "create", "x", "--password-stdin"],
    ):
        result = bichat(*args, stdin="a-long-password\n")
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            "error: there are 2 tenants (second-shop, solo-shop): choose one with --tenant SLUG"
        )
    assert row_counts(database_url) == before
    named = bichat("admin", "usage", "--tenant", "second-shop", "--json")
    assert named.exit_code == 0, named.output
