"""A real bichat web server (uvicorn in a thread, Chainlit mounted) on its own database with a
seeded shop and users. Chainlit keeps global state, so there is one server per test process;
tests may swap the agent's chat model between turns (``use_model``)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import text

from app.config import Settings, load_settings
from app.embeddings import LocalEmbeddings
from db import migrate
from db.embed import embed_tenant
from db.engine import create_engine
from db.seed import seed_tenant
from db.tenants import create_tenant, get_tenant
from db.users import create_user
from tests.chat_client import ChatClient

PASSWORD = "test-password-1"
XSS_NAME = "<img src=x onerror=alert(1)>"
ALLOWED_ORIGIN = "http://allowed.example:8080"  # BICHAT_ALLOWED_ORIGINS of the test server


@dataclass
class WebServer:
    base_url: str
    database_url: str
    settings: Settings
    thread: threading.Thread

    @property
    def agent(self):
        from app.web.state import get_state

        return get_state().runtime.agent

    def use_model(self, model, *, engine_first: bool = False) -> None:
        """Swap the agent's chat model (None: back to offline, where the question engine
        answers) between turns; with a model, the engine answers first only if asked."""
        from app.web.state import get_state

        agent = self.agent
        agent.chat_model, agent.offline = model, model is None
        get_state().runtime.turns.engine_first = engine_first


async def db_rows(url: str, sql: str, **params) -> list:
    """Rows of one query on the server's database (to check what a request changed)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def db_scalar(url: str, sql: str, **params):
    """The first column of the first row of one query on the server's database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(sql), params)
    finally:
        await engine.dispose()


async def db_execute(url: str, sql: str, **params) -> None:
    """Run one statement on the server's database and commit it."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), params)
    finally:
        await engine.dispose()


def login_token(client: httpx.Client) -> str:
    """The admin login form's CSRF token (its page also sets the cookie it is checked with)."""
    page = client.get("/admin/login").text
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    return found.group(1) if found else ""


def admin_login(client: httpx.Client, username: str, password: str = PASSWORD, **form: str):
    """Post the admin login form as a browser does (its token first)."""
    data = {"username": username, "password": password, "next": "", "csrf": login_token(client)}
    return client.post("/admin/login", data={**data, **form})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def prepare(url: str, settings: Settings) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        await seed_tenant(
            engine,
            settings,
            slug="web-shop",
            seed=51,
            orders=300,
            end=date(2026, 11, 22),
            products=170,
        )
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE products SET name = :n WHERE id = (SELECT min(id) FROM products "
                    "WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'web-shop'))"
                ),
                {"n": XSS_NAME},
            )
            shop = await get_tenant(connection, "web-shop")
            await embed_tenant(
                connection, tenant_id=shop.id, slug=shop.slug, embeddings=LocalEmbeddings()
            )
            await create_tenant(connection, slug="web-other", name="Other Shop", settings=settings)
            for username, tenant, admin in (
                ("ann", "web-shop", True),
                ("bob", "web-shop", False),
                ("eve", "web-other", False),
                ("olga", "web-other", True),  # an admin, of the other shop
            ):
                await create_user(
                    connection,
                    username=username,
                    tenant_slug=tenant,
                    password=PASSWORD,
                    admin=admin,
                )
    finally:
        await engine.dispose()


def start_server(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    """bichat's web app on a free port in a thread; returns once /healthz answers."""
    from app.web.server import create_app, server_config

    port = free_port()
    server = uvicorn.Server(
        server_config(
            create_app(settings), settings, host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, thread, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the web server did not start")


@pytest_asyncio.fixture(scope="session")
async def web_server(make_database) -> WebServer:
    url = await make_database()
    data_dir = Path(tempfile.mkdtemp(prefix="bichat-web-"))
    settings = load_settings(
        database_url=url,
        data_dir=data_dir,
        model="offline",
        # tests log in often from one address; the throttle's own tests use strict windows
        login_limit_per_ip="100000/minute",
        login_limit_per_username="100000/minute",
        trusted_proxies="127.0.0.1",  # so tests can speak as a TLS proxy (X-Forwarded-*)
        allowed_origins=ALLOWED_ORIGIN,
    )
    await prepare(url, settings)
    server, thread, base = await asyncio.to_thread(start_server, settings)
    yield WebServer(base, url, settings, thread)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def offline(web_server):
    web_server.use_model(None)
    yield web_server
    web_server.use_model(None)


@pytest.fixture
async def ann(web_server):
    """A chat client logged in as ann (web-shop's admin)."""
    client = ChatClient(web_server.base_url)
    assert (await client.login("ann", PASSWORD)).status_code == 200
    yield client
    await client.close()


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """What the server logs at ERROR and above (uvicorn's 'Exception in ASGI application')."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.ERROR)
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "chainlit", "")]
    for logger in loggers:
        logger.addHandler(handler)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)
