"""The embedded PostgreSQL server (pgserver) used when no ``BICHAT_DATABASE_URL`` is set.

Several processes may use one data dir at once: pgserver starts the server for the first
and counts the others in (their pids in ``pgdata/.handle_pids.json``); it stops the server when
the last of them exits, from an ``atexit`` handler. Two exits skip that handler, and the pid
they leave behind would keep the server running for ever after:

- a process killed outright (``kill -9``, a crash): the pids of processes that are gone are
  dropped from the list before each start (``forget_stale_handles``);
- ``SIGTERM`` or ``SIGHUP`` (whose default action ends the process at once; uvicorn re-raises
  them after its graceful shutdown): a process that joined the server ends by ``SystemExit``
  on them instead (``exit_on_termination``), so its ``atexit`` handlers run.

``pg_stat_statements`` is preloaded when installed (``db/embedded_preload.py``).
"""

from __future__ import annotations

import json
import signal
import threading
import warnings
from pathlib import Path
from types import FrameType, ModuleType

import psutil

from db import embedded_preload
from db.errors import DatabaseUnavailable
from db.urls import with_database

EMBEDDED_DATABASE = "bichat"
HANDLES_FILE = ".handle_pids.json"  # pgserver's list of the processes using the server
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _import_pgserver() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import pgserver
    return pgserver


def start_embedded_server(data_dir: Path) -> str:
    """Start (or join) the embedded server in ``data_dir``; return its maintenance-db URL."""
    pgserver = _import_pgserver()
    pgdata = data_dir / "pgdata"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        forget_stale_handles(pgserver, pgdata)
        embedded_preload.prepare(pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        embedded_preload.load_if_missing(pgserver, server, pgdata)
    except Exception as error:  # pgserver raises bare subprocess/OS errors
        log_file = pgdata / "log"
        raise DatabaseUnavailable(
            f"could not start the embedded PostgreSQL in {pgdata}: {error}. "
            f"See {log_file}, or set BICHAT_DATABASE_URL to use another server."
        ) from error
    exit_on_termination()
    return str(server.get_uri())


def process_alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def forget_stale_handles(pgserver: ModuleType, pgdata: Path) -> list[int]:
    """Drop the pids of processes that are gone from the server's list of users (under
    pgserver's own lock); the pids dropped."""
    handles = pgdata / HANDLES_FILE
    with pgserver.PostgresServer._lock:
        if not handles.exists():
            return []
        pids = [int(pid) for pid in json.loads(handles.read_text() or "[]")]
        stale = [pid for pid in pids if not process_alive(pid)]
        if stale:
            handles.write_text(json.dumps([pid for pid in pids if pid not in stale]))
    return stale


def exit_by_signal(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)


def exit_on_termination() -> None:
    """Make ``SIGTERM``/``SIGHUP`` end this process by ``SystemExit`` (exit status 128 + the
    signal's number, as a shell reports it) so that pgserver lets go of its handle; a handler
    that someone set already is kept."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in TERMINATING_SIGNALS:
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, exit_by_signal)


def embedded_owner_url(data_dir: Path) -> str:
    """URL of bichat's database on the embedded server (created by ``ensure_database``)."""
    return with_database(start_embedded_server(data_dir), EMBEDDED_DATABASE)
