"""Connecting: server checks with actionable errors, unreachable servers, the embedded server."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import DatabaseUnavailable, UnsupportedServer
from db.engine import ServerInfo, check_server, ensure_database, prepare_server
from db.urls import with_database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (ServerInfo("14.11", 140011, "0.7.0"), "too old: bichat needs 15 or newer"),
        (ServerInfo("15.6", 150006, None), "apt-get install postgresql-15-pgvector"),
        (ServerInfo("16.2", 160002, "0.4.4"), "pgvector 0.4.4 .* too old"),
    ],
)
def test_unsupported_servers_are_told_what_to_install(info, message):
    with pytest.raises(UnsupportedServer, match=message):
        check_server(info, url="postgresql://u:secret@db:5432/shop")


def test_supported_server_passes_and_messages_hide_passwords():
    check_server(ServerInfo("16.2", 160002, "0.6.2"), url="postgresql://u@db/shop")
    with pytest.raises(UnsupportedServer) as raised:
        check_server(ServerInfo("15.6", 150006, None), url="postgresql://u:secret@db:5432/shop")
    assert "secret" not in raised.value.message and "u:***@db" in raised.value.message


def run_as(user: str | None) -> dict[str, object]:
    return {"user": user} if user else {}


@pytest.fixture(scope="module")
def postgres_without_pgvector() -> Iterator[str]:
    """A real Debian PostgreSQL server (no pgvector package) on a TCP port."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        pytest.skip("Debian's postgresql package is not installed (.ci/install installs it)")
    bin_dir = Path(binaries[-1]).parent
    if (Path(str(bin_dir).replace("/bin", "")) / "lib" / "vector.so").exists():
        pytest.skip("this PostgreSQL has pgvector installed")
    user = "pgserver" if os.geteuid() == 0 else None  # postgres refuses to run as root
    if user:
        pwd.getpwnam(user)  # created by pgserver when the session server started as root
    data = Path(tempfile.mkdtemp(prefix="bichat-nopgvector-"))  # pytest's tmp is root-only
    if user:
        shutil.chown(data, user)
    port = free_port()
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        **run_as(user),
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-o", options, "-w", "-l", data / "log", "start"],
        check=True,
        capture_output=True,
        **run_as(user),
    )
    yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
        check=False,
        capture_output=True,
        **run_as(user),
    )


async def test_real_server_without_pgvector_says_what_to_install(postgres_without_pgvector):
    with pytest.raises(
        UnsupportedServer,
        match=r"pgvector extension is not installed.*apt-get install postgresql-1\d-pgvector",
    ):
        await prepare_server(postgres_without_pgvector, timeout_s=5, create_database=False)


async def test_unreachable_server_is_reported_with_the_variable_to_check():
    url = f"postgresql://bichat:hunter2@127.0.0.1:{free_port()}/shop"
    with pytest.raises(DatabaseUnavailable) as raised:
        await prepare_server(url, timeout_s=2, create_database=False)
    assert "BICHAT_DATABASE_URL" in raised.value.message
    assert "hunter2" not in raised.value.message


async def test_missing_database_is_reported(server_url):
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        await prepare_server(
            with_database(server_url, "no_such_db"), timeout_s=5, create_database=False
        )


async def test_concurrent_first_runs_create_the_database_once(server_url):
    url = with_database(server_url, "bichat_concurrent_create")
    await asyncio.gather(*(ensure_database(url, timeout_s=5) for _ in range(4)))
    info = await prepare_server(url, timeout_s=5, create_database=False)
    assert info.version_num >= 150000 and info.pgvector_available
