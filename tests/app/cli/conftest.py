"""``bichat`` run in-process against the test module's database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli.main import app


@pytest.fixture
def bichat(database_url, monkeypatch, tmp_path):
    """Run ``bichat ARGS`` in-process against the module's database."""
    monkeypatch.delenv("BICHAT_READER_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        env = {"BICHAT_DATABASE_URL": database_url, "BICHAT_DATA_DIR": str(tmp_path)}
        return runner.invoke(app, list(args), input=stdin, env=env, catch_exceptions=False)

    return invoke


def shop_with_user(bichat, slug: str, name: str, username: str) -> str:
    """The shop ``slug`` with one user ``username``, made through the CLI on first use."""
    if slug not in bichat("tenants", "list", "--json").stdout:
        assert bichat("tenants", "create", slug, "--name", name).exit_code == 0
        made = bichat(
            "users", "create", username, "--tenant", slug, "--password-stdin",
            stdin="long-password\n",
        )  # fmt: skip
        assert made.exit_code == 0, made.output
    return slug


def seeded_through_cli(database_url: str, data_dir: str, slug: str, *options: str) -> str:
    """The shop ``slug`` seeded with ``bichat db seed`` (which also builds its values index)."""
    env = {"BICHAT_DATABASE_URL": database_url, "BICHAT_DATA_DIR": data_dir}
    result = CliRunner().invoke(app, ["db", "seed", "--tenant", slug, *options], env=env)
    assert result.exit_code == 0, result.output
    return slug
