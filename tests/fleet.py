"""Several real ``bichat serve`` processes on one embedded database (one data dir), HAProxy
(deploy/haproxy.cfg) in front, and the local OpenAI-compatible server as their model: what
tests/deploy/test_instances.py and benchmarks/scale.py run.

The data dir is prepared first in a process of its own (schema, one shop, its users), so the
instances find a shop and seed nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgserver._commands import POSTGRES_BIN_PATH
from sqlalchemy import Row, text

from db.engine import create_engine
from tests.balancer import Balancer
from tests.openai_server import OpenAIServer, Reply
from tests.pg_control import SYSTEM_USER
from tests.serve_process import ServeProcess, bichat_environment

SHOP = "fleet-shop"
PASSWORD = "fleet-password-1"
PREPARE = """
import asyncio, sys
from app.config import load_settings
from db.bootstrap import initialise
from db.engine import open_engine
from db.tenants import create_tenant
from db.users import create_user

async def main(users):
    settings = load_settings()
    async with open_engine(settings) as engine:
        await initialise(engine, settings)
        async with engine.begin() as connection:
            await create_tenant(connection, slug=%(shop)r, name="Fleet Shop", settings=settings)
            for username in users:
                await create_user(connection, username=username, tenant_slug=%(shop)r,
                                  password=%(password)r, admin=False)

asyncio.run(main(sys.argv[1:]))
"""


def prepare_data_dir(env: dict[str, str], users: list[str], *, cwd: Path) -> None:
    """Schema at head, the shop and its users, in the embedded server of ``env``'s data dir
    (started for this and stopped after)."""
    script = PREPARE % {"shop": SHOP, "password": PASSWORD}
    subprocess.run(
        [sys.executable, "-c", script, *users], env=env, cwd=cwd, check=True, timeout=300
    )


def stop_embedded(data_dir: Path) -> None:
    """Stop the data dir's PostgreSQL if a process killed with ``kill -9`` left it running
    (pgserver stops it when its last user exits normally)."""
    pgdata = data_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "stop", "-m", "fast", "-w"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=60,
            **({"user": SYSTEM_USER} if SYSTEM_USER else {}),
        )


class Fleet:
    """``Fleet(tmp, instances=2, users=[...]).start()``; ``stop()`` at the end."""

    def __init__(
        self,
        root: Path,
        *,
        instances: int = 2,
        users: list[str],
        responder: Callable[[dict[str, Any]], Reply],
        settings: dict[str, str] | None = None,
    ) -> None:
        self.root, self.users = root, users
        self.data_dir = root / "data"
        self.model = OpenAIServer()
        self.model.replier = responder
        self.env = bichat_environment(
            self.data_dir,
            BICHAT_MODEL="openai:gpt-4.1-mini",
            OPENAI_API_KEY="sk-test",
            BICHAT_ENGINE_FIRST="false",  # every question streams from the model
            BICHAT_TRUSTED_PROXIES="127.0.0.1",  # HAProxy's X-Forwarded-For is believed
            BICHAT_LOGIN_LIMIT_PER_IP="100000/minute",
            BICHAT_LOGIN_LIMIT_PER_USERNAME="100000/minute",
            **(settings or {}),
        )
        self.servers = [ServeProcess(self.env, cwd=root) for _ in range(instances)]
        self.balancer = Balancer([f"127.0.0.1:{s.port}" for s in self.servers], log=root / "lb.log")

    def start(self) -> Fleet:
        self.model.start()
        self.env["OPENAI_BASE_URL"] = self.model.base_url
        prepare_data_dir(self.env, self.users, cwd=self.root)
        for server in self.servers:  # one after the other: the first starts the database
            server.start()
        self.balancer.start()
        return self

    def database_url(self) -> str:
        """The shared database, from the running server's postmaster.pid (without joining
        the embedded server from this process)."""
        lines = (self.data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
        port, socket_dir = lines[3].strip(), lines[4].strip()
        if socket_dir:
            return f"postgresql://postgres:@/bichat?host={socket_dir}&port={port}"
        return f"postgresql://postgres:@127.0.0.1:{port}/bichat"

    async def fetch(self, sql: str, **params: Any) -> list[Row[Any]]:
        """The rows of one read of the shared database."""
        engine = create_engine(self.database_url())
        try:
            async with engine.connect() as connection:
                return list(await connection.execute(text(sql), params))
        finally:
            await engine.dispose()

    def restart(self, index: int) -> ServeProcess:
        """A new process in the place of instance ``index`` (same port: HAProxy's server),
        once HAProxy has marked it up again (new browsers are spread over both)."""
        old = self.servers[index]
        old.stop()
        server = ServeProcess(self.env, cwd=self.root)
        server.port, server.base_url = old.port, old.base_url
        self.servers[index] = server.start()
        up, down = (self.balancer.marked(index, state) for state in ("UP", "DOWN"))
        if down > up:  # HAProxy saw it go: it needs two good checks to send browsers again
            self.balancer.wait_marked(index, "UP", seen=up)
        return server

    def stop(self) -> None:
        self.balancer.stop()
        for server in self.servers:
            server.stop()
        stop_embedded(self.data_dir)
        self.model.stop()
