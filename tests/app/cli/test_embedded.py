"""The embedded default, as a newcomer meets it: real ``bichat`` processes, no database URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def bichat_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BICHAT_")}
    env["BICHAT_DATA_DIR"] = str(data_dir)
    return env


def bichat(
    data_dir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bichat", *args],
        env=bichat_env(data_dir),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=data_dir,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bichat-data"
    path.mkdir()
    return path


def test_init_twice_on_a_fresh_data_dir(data_dir):
    first = bichat(data_dir, "db", "init", "--json")
    assert first.returncode == 0, first.stderr
    second = bichat(data_dir, "db", "init", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(first.stdout) == json.loads(second.stdout)
    status = json.loads(bichat(data_dir, "db", "status", "--json").stdout)
    assert status["embedded"] is True
    assert status["postgres"].startswith("16.") and status["pgvector"]
    assert status["revision"] == status["head"] and status["reader_hardened"] is True
    assert (data_dir / "pgdata" / "PG_VERSION").exists()


def test_cli_works_while_another_process_uses_the_data_dir(data_dir):
    holder_code = (
        "import sys; from pathlib import Path; from db.embedded import embedded_owner_url;"
        f"print(embedded_owner_url(Path({str(data_dir)!r})), flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code],
        env=bichat_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        holder.stdout.readline()
        assert bichat(data_dir, "db", "init").returncode == 0
        assert bichat(data_dir, "tenants", "create", "shared", "--name", "Shared").returncode == 0
        created = bichat(
            data_dir,
            "users",
            "create",
            "sam",
            "--tenant",
            "shared",
            "--password-stdin",
            stdin="pa55word-long",
        )
        assert created.returncode == 0, created.stderr
        listed = json.loads(bichat(data_dir, "tenants", "list", "--json").stdout)
        assert [t["slug"] for t in listed] == ["shared"]
        assert holder.poll() is None  # the holder is still running and its server with it
    finally:
        holder.communicate("", timeout=60)


def test_concurrent_first_runs_initialise_once(data_dir):
    processes = [
        subprocess.Popen(
            ["bichat", "db", "init", "--json"],
            env=bichat_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=data_dir,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], results
    assert all(json.loads(out)["up_to_date"] for out, _ in results)


def test_asking_before_the_schema_exists_says_what_to_run(data_dir):
    """A fresh data dir has an empty database: ``bichat ask`` says to initialise it (it
    printed a SQLAlchemy traceback about a missing table)."""
    asked = bichat(data_dir, "ask", "How many orders?")
    assert asked.returncode == 1 and "Traceback" not in asked.stderr
    assert "no bichat schema yet" in asked.stderr and "bichat db init" in asked.stderr
