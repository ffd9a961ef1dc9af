"""Docs that cannot drift: every CLI command and every setting is in the README, and CI runs
the README's own test command."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from app.cli.main import app
from app.config import Settings, env_name

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def command_paths(command: object, prefix: str = "bichat") -> list[str]:
    subcommands = getattr(command, "commands", None)  # a group (typer ships its own click)
    if subcommands is None:
        return [prefix]
    return [
        path for name, sub in subcommands.items() for path in command_paths(sub, f"{prefix} {name}")
    ]


COMMANDS = command_paths(typer.main.get_command(app))


def test_the_cli_has_the_foundation_commands():
    assert {
        "bichat db init",
        "bichat db status",
        "bichat tenants create",
        "bichat users create",
    } <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_command_is_in_the_readme(command):
    assert f"`{command}" in README, f"{command} is not documented in README.md"


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_every_setting_is_in_the_readme(field):
    assert f"`{env_name(field)}`" in README, f"{env_name(field)} is not documented in README.md"


def readme_commands() -> tuple[str, str]:
    first_lines = [line.strip() for line in README.splitlines()[1:3]]
    start, tests = (line.split("#", 1)[0].strip() for line in first_lines)
    return start, tests


def test_readme_opens_with_the_start_and_test_commands():
    start, tests = readme_commands()
    assert "bichat serve" in start
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci
