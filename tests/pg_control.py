"""A PostgreSQL 16 + pgvector server of the test's own (pgserver's binaries, a unix socket in a
temporary folder, as the embedded server runs), which a test may restart or stop for a while:
faults of the database, for real."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pgserver._commands import POSTGRES_BIN_PATH

from db.engine import connect_raw
from db.urls import with_database

SYSTEM_USER = "pgserver" if os.geteuid() == 0 else None  # postgres refuses to run as root


class ControlledServer:
    """``start()`` once; then ``restart()``, ``stop()`` and ``start()`` as the test needs;
    ``destroy()`` at the end. ``url`` is the maintenance database's URL."""

    def __init__(self) -> None:
        # short: a unix socket path must stay under 108 bytes
        self.root = Path(tempfile.mkdtemp(prefix="pgc-"))
        self.data = self.root / "data"
        self.log = self.root / "log"
        if SYSTEM_USER:
            shutil.chown(self.root, SYSTEM_USER)
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "utf8")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.data}"

    async def create_database(self, name: str) -> str:
        """A new empty database ``name`` on this server; its URL."""
        maintenance = await connect_raw(self.url, timeout_s=10)
        try:
            await maintenance.execute(f'CREATE DATABASE "{name}"')
        finally:
            await maintenance.close()
        return with_database(self.url, name)

    def run(self, program: str, *args: str) -> None:
        """pg_ctl and friends write nothing we read; a pipe would hang (the server inherits it)."""
        subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            **({"user": SYSTEM_USER} if SYSTEM_USER else {}),
        )

    def ctl(self, *args: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", *args)

    def start(self) -> None:
        options = f'-h "" -k {self.data}'
        self.ctl("-o", options, "-l", str(self.log), "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: sessions are ended, the server is back in a moment."""
        self.ctl("-m", "fast", "restart")

    def stopped_for(self, seconds: float) -> None:
        self.stop()
        time.sleep(seconds)
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
