"""A real hot standby for tests: ``pg_basebackup`` of an embedded primary, streaming from it.

The same steps as README "Read replica": pgserver ships pg_basebackup and pg_ctl next to its
postgres binary; the standby listens on a Unix socket of its own. Run as pgserver's system
user when the tests run as root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pgserver

BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
SYSTEM_USER = "pgserver" if os.geteuid() == 0 else None


def socket_dir_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["host"][0]


def run(*args: str, timeout_s: float = 60) -> str:
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout_s, user=SYSTEM_USER
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


@dataclass
class Standby:
    pgdata: Path
    socket_dir: Path

    def url(self, database: str) -> str:
        return f"postgresql://postgres:@/{database}?host={self.socket_dir}"

    def start(self) -> None:
        run(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-o",
            f'-h "" -k {self.socket_dir}',
            "-l",
            str(self.pgdata / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        run(str(BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        return pid_file.exists()


def make_standby(primary_url: str, root: Path) -> Standby:
    """Base backup of the primary (``-R``: standby.signal and primary_conninfo written,
    ``-X stream``: the WAL of the backup streamed along), then started as a hot standby."""
    root.mkdir(parents=True, exist_ok=True)
    pgdata = root / "pgdata"
    # a socket path must stay short (about 100 bytes)
    socket_dir = Path(tempfile.mkdtemp(prefix="sb-", dir="/tmp"))
    if SYSTEM_USER is not None:
        for path in (root, socket_dir):
            shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
    run(
        str(BIN / "pg_basebackup"),
        "-h",
        socket_dir_of(primary_url),
        "-U",
        "postgres",
        "-D",
        str(pgdata),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
    )
    standby = Standby(pgdata, socket_dir)
    standby.start()
    return standby


def wait_until(check, *, timeout_s: float = 15.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {timeout_s} s")
