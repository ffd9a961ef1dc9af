"""The embedded default, as a newcomer meets it: real ``bichat`` processes, no database URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.serve_process import ServeProcess, bichat_environment


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
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "bichat-data"
    path.mkdir()
    yield path
    postmaster = server_process(path)
    if postmaster is not None:  # a test that failed left it running: nothing stays behind
        postmaster.terminate()
        postmaster.wait(30)


def server_process(data_dir: Path) -> psutil.Process | None:
    """The embedded server's postmaster, if it runs."""
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        process = psutil.Process(int(pid_file.read_text().split()[0]))
    except (psutil.NoSuchProcess, ValueError, IndexError):
        return None
    return process if process.name() == "postgres" else None


def handles(data_dir: Path) -> list[int]:
    """The pids pgserver counts as users of the server."""
    return list(json.loads((data_dir / "pgdata" / ".handle_pids.json").read_text()))


def stops_within(data_dir: Path, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while server_process(data_dir) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def start_holder(data_dir: Path) -> subprocess.Popen[str]:
    """A process that joins the embedded server and waits for its stdin to close."""
    holder_code = (
        "import sys; from pathlib import Path; from db.embedded import embedded_owner_url;"
        f"print(embedded_owner_url(Path({str(data_dir)!r})), flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code],
        env=bichat_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    joined = holder.stdout.readline()
    assert joined.startswith("postgresql://"), holder.communicate("", timeout=60)[1][-2000:]
    return holder


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
    holder = start_holder(data_dir)
    try:
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
        assert server_process(data_dir) is not None
    finally:
        holder.communicate("", timeout=60)
    assert stops_within(data_dir)  # the last user of the server is gone, and the server too


def test_a_killed_user_of_the_server_does_not_keep_it_running(data_dir):
    """``kill -9`` of a process that shared the server leaves its pid in pgserver's list: the
    next command drops it, works, and stops the server when it exits."""
    holder = start_holder(data_dir)
    holder.kill()
    holder.communicate(timeout=60)
    assert holder.pid in handles(data_dir) and server_process(data_dir) is not None
    initialised = bichat(data_dir, "db", "init")
    assert initialised.returncode == 0, initialised.stderr
    assert stops_within(data_dir)
    assert handles(data_dir) == []


def test_a_terminated_server_stops_the_embedded_database(data_dir):
    """``SIGTERM`` to ``bichat serve`` (what systemd, docker and kill send): it shuts down and
    the embedded server stops with it, as on Ctrl+C."""
    for command in (["db", "init"], ["tenants", "create", "shop", "--name", "Shop"]):
        assert bichat(data_dir, *command).returncode == 0
    served = ServeProcess(bichat_environment(data_dir, BICHAT_MODEL="offline"), cwd=data_dir)
    served.start()
    try:
        assert served.pid in handles(data_dir)
        served.signal(signal.SIGTERM)
        served.wait()
    finally:
        served.kill()
    assert stops_within(data_dir), served.output()[-2000:]
    assert handles(data_dir) == []


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
