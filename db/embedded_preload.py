"""``pg_stat_statements`` on the embedded server: preloaded when its module is installed.

pgserver's PostgreSQL has no contrib modules; ``.ci/install`` copies ``pg_stat_statements``
into pgserver's own tree (its ``pg_config --pkglibdir`` and ``--sharedir``). A module in
``shared_preload_libraries`` is loaded only when the server starts, so the setting lives in
the data dir's configuration, in a file of ours that ``postgresql.conf`` includes
(``bichat_preload.conf``), rewritten before each start from what is installed: a server never
names a module that is not there (it would refuse to start).

A data dir made just now was started by pgserver before the file existed: the server is
restarted once, but only when this process is its only user and no one else is connected;
otherwise the module is loaded at the server's next start.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

MODULE = "pg_stat_statements"
PRELOAD_FILE = "bichat_preload.conf"
INCLUDE_LINE = f"include_if_exists = '{PRELOAD_FILE}'  # bichat: shared_preload_libraries\n"
HANDLES_FILE = ".handle_pids.json"  # pgserver's list of the processes using the server

log = logging.getLogger(__name__)
checked: set[Path] = set()  # data dirs whose running server this process found with the module


def bin_dir() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@lru_cache(maxsize=1)
def module_installed() -> bool:
    """Whether ``pg_stat_statements`` is in the embedded server's module directory."""
    pkglibdir = subprocess.run(  # noqa: S603 - pgserver's own pg_config, fixed arguments
        [str(bin_dir() / "pg_config"), "--pkglibdir"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    return (Path(pkglibdir) / f"{MODULE}.so").is_file()


def write_preload_config(pgdata: Path, *, preload: bool) -> None:
    """Name the module in ``shared_preload_libraries`` (or nothing) for the next start, in
    our include file, replaced atomically; ``postgresql.conf`` includes it (added once)."""
    if not (pgdata / "PG_VERSION").exists():
        return  # initdb has not run yet: after the first start
    body = f"shared_preload_libraries = '{MODULE}'\n" if preload else ""
    target = pgdata / PRELOAD_FILE
    staged = pgdata / f"{PRELOAD_FILE}.{os.getpid()}"
    staged.write_text(f"# written by bichat (db/embedded_preload.py) at each start\n{body}")
    _owned_like(staged, pgdata)
    staged.replace(target)
    conf = pgdata / "postgresql.conf"
    if INCLUDE_LINE not in conf.read_text():
        with conf.open("a") as appended:
            appended.write(f"\n{INCLUDE_LINE}")


def _owned_like(path: Path, pgdata: Path) -> None:
    """The server runs as the data dir's owner (pgserver's own user when we are root)."""
    path.chmod(0o600)
    owner = pgdata.stat()
    if os.geteuid() == 0 and path.stat().st_uid != owner.st_uid:
        os.chown(path, owner.st_uid, owner.st_gid)


def prepare(pgdata: Path) -> None:
    """Before pgserver starts (or joins) the server: the preload setting for its start."""
    write_preload_config(pgdata, preload=module_installed())


def server_state(uri: str) -> tuple[bool, int]:
    """Whether the running server preloaded the module; how many other clients it has."""
    query = (
        "SELECT current_setting('shared_preload_libraries'), (SELECT count(*) FROM "
        "pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())"
    )
    output = subprocess.run(  # noqa: S603 - pgserver's own psql, our query
        [str(bin_dir() / "psql"), "-X", "-A", "-t", "-d", uri, "-c", query],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    libraries, others = output.rsplit("|", 1)
    loaded = MODULE in [name.strip() for name in libraries.split(",")]
    return loaded, int(others)


def only_user(pgdata: Path) -> bool:
    handles = pgdata / HANDLES_FILE
    pids = json.loads(handles.read_text() or "[]") if handles.exists() else []
    return [int(pid) for pid in pids] == [os.getpid()]


def load_if_missing(pgserver: Any, server: Any, pgdata: Path) -> None:
    """After the start: restart a server that lacks the installed module, when no one else
    uses it (under pgserver's lock, so no process joins meanwhile)."""
    if not module_installed() or pgdata in checked:
        return
    with pgserver.PostgresServer._lock:
        loaded, others = server_state(str(server.get_uri()))
        if loaded:
            checked.add(pgdata)
            return
        if others or not only_user(pgdata):
            log.info("%s is loaded at the embedded server's next start (it is in use)", MODULE)
            return
        log.info("restarting the embedded server once to load %s", MODULE)
        write_preload_config(pgdata, preload=True)
        restart(pgserver, server, pgdata)


def restart(pgserver: Any, server: Any, pgdata: Path) -> None:
    """Stop and start again (pgserver's own start, so it knows the new postmaster); if the
    server will not start with the module, start it without."""
    pgserver._commands.pg_ctl(
        ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=60
    )
    try:
        server.ensure_postgres_running()
    except (subprocess.SubprocessError, OSError):
        log.warning("the embedded server did not start with %s; started without it", MODULE)
        write_preload_config(pgdata, preload=False)
        server.ensure_postgres_running()
