"""pg_stat_statements on the embedded server (``db/embedded_preload.py``), with real
processes sharing real data dirs: a new data dir's server loads it (one restart, by its only
user); a server in use by another process is never restarted (it loads it at its next start);
a data dir whose module went away still starts, without it. ``bichat db init`` creates the
extension when it is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.bootstrap import initialise
from db.embedded_preload import INCLUDE_LINE, PRELOAD_FILE
from db.engine import create_engine
from tests.app.cli.test_embedded import server_process, stops_within
from tests.conftest import migrated, settings_for

# argv: data dir, "with" or "without" the module installed, "hold" to stay until stdin closes
STARTER = """
import json, sys
from pathlib import Path
from db import embedded_preload
if sys.argv[2] == "without":
    embedded_preload.module_installed = lambda: False
from db.embedded import start_embedded_server
uri = start_embedded_server(Path(sys.argv[1]))
loaded, _ = embedded_preload.server_state(uri)
print(json.dumps({"loaded": loaded, "postmaster": (Path(sys.argv[1]) / "pgdata" /
    "postmaster.pid").read_text().split()[0]}), flush=True)
if sys.argv[3:] == ["hold"]:
    sys.stdin.read()
"""


def start(data_dir: Path, module: str = "with") -> dict[str, object]:
    """Start (or join) the server in a process that then exits; what it found."""
    done = subprocess.run(
        [sys.executable, "-c", STARTER, str(data_dir), module],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(done.stdout))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    postmaster = server_process(tmp_path)
    if postmaster is not None:  # a failed test left it running
        postmaster.terminate()
        postmaster.wait(30)


def test_a_new_data_dirs_server_loads_it_and_keeps_one_include(data_dir):
    assert start(data_dir)["loaded"] is True
    assert stops_within(data_dir)  # its only user exited: the restarted server stops too
    assert start(data_dir)["loaded"] is True
    conf = (data_dir / "pgdata" / "postgresql.conf").read_text()
    assert conf.count(INCLUDE_LINE) == 1
    assert "pg_stat_statements" in (data_dir / "pgdata" / PRELOAD_FILE).read_text()


def test_a_server_in_use_is_not_restarted_and_loads_it_at_its_next_start(data_dir):
    holder = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(data_dir), "without", "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(holder.stdout.readline())  # type: ignore[union-attr]
        assert first["loaded"] is False
        joined = start(data_dir)  # the module is installed, but the server has a user
        assert joined == {"loaded": False, "postmaster": first["postmaster"]}  # not restarted
    finally:
        holder.communicate("", timeout=60)
    assert stops_within(data_dir)
    assert start(data_dir)["loaded"] is True


def test_a_data_dir_whose_module_went_away_still_starts(data_dir):
    assert start(data_dir)["loaded"] is True
    assert stops_within(data_dir)
    assert start(data_dir, "without")["loaded"] is False
    assert (
        "shared_preload" not in (data_dir / "pgdata" / PRELOAD_FILE).read_text().split("\n", 1)[1]
    )


async def test_db_init_creates_the_extension_when_it_is_missing(make_database, tmp_path):
    url = await migrated(await make_database())
    engine = create_engine(url)
    query = text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
    try:
        async with engine.begin() as connection:
            assert await connection.scalar(query) == 1  # migration 0013
            await connection.execute(text("DROP EXTENSION pg_stat_statements"))
        await initialise(engine, settings_for(url, tmp_path))
        async with engine.connect() as connection:
            assert await connection.scalar(query) == 1
    finally:
        await engine.dispose()
