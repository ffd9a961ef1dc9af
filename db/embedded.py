"""The embedded PostgreSQL server (pgserver) used when no ``BICHAT_DATABASE_URL`` is set.

Several processes may use one data dir at once: pgserver starts the server for the first
and counts the others in; it stops the server when the last of them exits.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType

from db.errors import DatabaseUnavailable
from db.urls import with_database

EMBEDDED_DATABASE = "bichat"


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
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as error:  # pgserver raises bare subprocess/OS errors
        log_file = pgdata / "log"
        raise DatabaseUnavailable(
            f"could not start the embedded PostgreSQL in {pgdata}: {error}. "
            f"See {log_file}, or set BICHAT_DATABASE_URL to use another server."
        ) from error
    return str(server.get_uri())


def embedded_owner_url(data_dir: Path) -> str:
    """URL of bichat's database on the embedded server (created by ``ensure_database``)."""
    return with_database(start_embedded_server(data_dir), EMBEDDED_DATABASE)
