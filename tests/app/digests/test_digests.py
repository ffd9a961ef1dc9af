"""Scheduled digests against real parts: a seeded shop, the guard and reader role, a local
SMTP server (aiosmtpd) and a local webhook receiver started here. Sent once per due time even
with two runners at once; failures stored, retried with backoff, bounded."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import text

from app.config import Settings
from app.digests.insights import LibraryInsights
from app.digests.runner import DigestRunner
from app.digests.schedule import last_due
from app.errors import NotFound
from app.semantic.service import SemanticLayer
from app.store import digests, pins
from app.store.pins import Viewer
from app.tools.query_metrics import run_query_metrics
from app.tools.sql import SqlExecutor
from app.tools.tool import ToolServices
from db.engine import create_engine
from db.reads import read_rows
from db.seed import seed_tenant
from db.tenants import get_tenant
from db.users import create_user

REVENUE_LAST_MONTH = {"metrics": ["revenue"], "period": "last-month"}
STATUS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1"
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)  # after 08:00 in the shop (UTC)


# --- the local SMTP server and webhook receiver -------------------------------------------


@dataclass
class Mailbox:
    port: int = 0
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@dataclass
class Hooks:
    bodies: list[dict] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests first


def webhook_server(hooks: Hooks) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hooks.fail_next:
                hooks.fail_next -= 1
                self.send_response(500)
            else:
                hooks.bodies.append(json.loads(body))
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def hooks():
    found = Hooks()
    server = webhook_server(found)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield found
    server.shutdown()


# --- the shop ---------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings):
    await seed_tenant(
        engine, settings, slug="digest-shop", seed=5, orders=600, end=date(2026, 11, 22)
    )
    async with engine.begin() as connection:
        for name in ("dora", "dan"):
            await create_user(
                connection, username=name, tenant_slug="digest-shop", password="x" * 12, admin=False
            )
        tenant = await get_tenant(connection, "digest-shop")
        users = dict((await connection.execute(text("SELECT username, id FROM app_users"))).all())
    return tenant, users


@pytest_asyncio.fixture
async def clean(engine):
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM digests"))
        await connection.execute(text("DELETE FROM dashboards"))


def settings_with(settings: Settings, mailbox: Mailbox, **more) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "digest_retry_base_s": 60,
            **more,
        }
    )


@pytest_asyncio.fixture(scope="module")
async def services(engine, settings):
    executor = SqlExecutor(
        engine=engine, settings=settings, owner_url=str(engine.url.render_as_string(False))
    )
    yield ToolServices(executor, None, SemanticLayer(engine=engine))  # type: ignore[arg-type]
    await executor.close()


def runner_for(engine, services, settings) -> DigestRunner:
    return DigestRunner(engine, services, settings, insights=LibraryInsights(services))


async def dashboard_digest(engine, tenant, user_id, *, created=NOW - timedelta(days=2), **channels):
    viewer = Viewer(tenant.id, user_id)
    await pins.add_tile(
        engine, viewer, title="Revenue last month", kind="metrics", query=REVENUE_LAST_MONTH
    )
    await pins.add_tile(engine, viewer, title="Orders by status", kind="sql", sql=STATUS_SQL)
    digest_id = await digests.create_digest(
        engine,
        tenant_id=tenant.id,
        user_id=user_id,
        dashboard=True,
        tile_id=None,
        frequency="daily",
        weekday=None,
        hour=8,
        email=channels.get("email"),
        webhook_url=channels.get("webhook"),
    )
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE digests SET created_at = :c WHERE id = :i"), {"c": created, "i": digest_id}
        )
    return digest_id


async def run_rows(engine, digest_id):
    found = await read_rows(
        engine,
        "SELECT due_at, status, attempts, delivered, error, next_attempt_at FROM digest_runs "
        "WHERE digest_id = :d ORDER BY id",
        {"d": digest_id},
    )
    return [tuple(row) for row in found]


# --- the tests --------------------------------------------------------------------------


def test_due_times_are_the_shops_wall_clock_hour():
    at = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (summer time since 29 March)
    assert last_due(frequency="daily", hour=8, weekday=None, timezone="Europe/Berlin", now=at) == (
        datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    )
    before = datetime(
        2026, 3, 30, 5, 59, tzinfo=UTC
    )  # 07:59 in Berlin: yesterday's, in winter time
    assert last_due(
        frequency="daily", hour=8, weekday=None, timezone="Europe/Berlin", now=before
    ) == (datetime(2026, 3, 29, 6, 0, tzinfo=UTC))
    monday = last_due(frequency="weekly", hour=8, weekday=0, timezone="UTC", now=NOW)  # a Friday
    assert monday == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    sunday = last_due(frequency="weekly", hour=10, weekday=4, timezone="UTC", now=NOW)
    assert sunday == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # Friday 10:00 is still to come


async def test_a_dashboard_digest_reaches_smtp_and_the_webhook_with_numbers_and_change(
    engine, settings, services, shop, clean, mailbox, hooks
):
    tenant, users = shop
    digest_id = await dashboard_digest(
        engine, tenant, users["dora"], email="dora@example.com", webhook=hooks.url
    )
    mails, posts = len(mailbox.messages), len(hooks.bodies)
    outcomes = await runner_for(engine, services, settings_with(settings, mailbox)).run_due(NOW)
    assert [(o.digest_id, o.status, o.error) for o in outcomes] == [(digest_id, "sent", None)]
    assert len(mailbox.messages) == mails + 1 and len(hooks.bodies) == posts + 1

    recipients, raw = mailbox.messages[-1]
    mail = message_from_bytes(raw)
    body = mail.get_payload(decode=True).decode()
    assert recipients == ["dora@example.com"] and "dora's dashboard" in mail["Subject"]
    expected = await run_query_metrics(
        services.semantic, services.executor, tenant, {**REVENUE_LAST_MONTH, "compare": "previous"}
    )
    row = dict(zip(expected.run.columns, expected.run.rows[0], strict=True))
    assert (
        f"revenue {row['revenue']:,.2f} ({row['revenue_change_pct']:+.1f}% vs previous period"
        in body
    )
    async with engine.connect() as connection:
        delivered = await connection.scalar(
            text("SELECT count(*) FROM orders WHERE tenant_id = :t AND status = 'delivered'"),
            {"t": tenant.id},
        )
    assert f"- delivered: n {delivered:,}" in body
    assert "## Anomalies" in body  # the section app.insights fills

    payload = hooks.bodies[-1]
    assert (
        payload["text"].startswith("dora's dashboard") and payload["blocks"][0]["type"] == "header"
    )
    assert any("Revenue last month" in b.get("text", {}).get("text", "") for b in payload["blocks"])
    [(due, status, attempts, reached, error, _)] = await run_rows(engine, digest_id)
    assert (status, attempts, sorted(reached), error) == ("sent", 1, ["email", "webhook"], None)
    local = due.astimezone(ZoneInfo(tenant.timezone))  # today at 08:00 in the shop
    assert (local.date(), local.hour, local.minute) == (NOW.astimezone(local.tzinfo).date(), 8, 0)
    again = await runner_for(engine, services, settings_with(settings, mailbox)).run_due(NOW)
    assert again == [] and len(mailbox.messages) == mails + 1  # one send per due time


async def test_a_sql_tile_is_compared_with_the_previous_digest(
    engine, settings, services, shop, clean, mailbox
):
    tenant, users = shop
    await dashboard_digest(engine, tenant, users["dora"], email="dora@example.com")
    runner = runner_for(engine, services, settings_with(settings, mailbox))
    await runner.run_due(NOW - timedelta(days=1))
    async with engine.begin() as connection:  # a new order since yesterday's digest
        await connection.execute(
            text(
                "UPDATE orders SET status = 'delivered' WHERE id = (SELECT min(id) FROM orders "
                "WHERE tenant_id = :t AND status = 'shipped')"
            ),
            {"t": tenant.id},
        )
    await runner.run_due(NOW)
    body = message_from_bytes(mailbox.messages[-1][1]).get_payload(decode=True).decode()
    line = next(x for x in body.splitlines() if x.startswith("- delivered: n "))
    assert "vs previous digest" in line and "+" in line


async def test_two_runners_at_once_send_each_digest_once(
    engine, database_url, settings, services, shop, clean, mailbox, hooks
):
    tenant, users = shop
    made = [
        await dashboard_digest(engine, tenant, users["dora"], webhook=hooks.url),
        await dashboard_digest(engine, tenant, users["dan"], webhook=hooks.url),
    ]
    posts = len(hooks.bodies)
    other_engine = create_engine(database_url)
    other_executor = SqlExecutor(engine=other_engine, settings=settings, owner_url=database_url)
    try:
        other = ToolServices(other_executor, None, SemanticLayer(engine=other_engine))  # type: ignore[arg-type]
        first = runner_for(engine, services, settings_with(settings, mailbox))
        second = runner_for(other_engine, other, settings_with(settings, mailbox))
        results = await asyncio.gather(first.run_due(NOW), second.run_due(NOW), first.run_due(NOW))
    finally:
        await other_executor.close()
        await other_engine.dispose()
    sent = sorted(o.digest_id for outcomes in results for o in outcomes)
    assert sent == sorted(made)
    assert len(hooks.bodies) == posts + 2
    for digest_id in made:
        assert [r[1] for r in await run_rows(engine, digest_id)] == ["sent"]


async def test_a_failing_webhook_is_retried_with_backoff_and_email_is_not_sent_twice(
    engine, settings, services, shop, clean, mailbox, hooks
):
    tenant, users = shop
    digest_id = await dashboard_digest(
        engine, tenant, users["dora"], email="dora@example.com", webhook=hooks.url
    )
    runner = runner_for(engine, services, settings_with(settings, mailbox, digest_max_attempts=3))
    mails, posts = len(mailbox.messages), len(hooks.bodies)
    hooks.fail_next = 2
    [first] = await runner.run_due(NOW)
    assert first.status == "retry" and "answered 500" in first.error
    [(_, status, attempts, reached, error, next_at)] = await run_rows(engine, digest_id)
    assert (status, attempts, reached) == ("retry", 1, ["email"]) and "500" in error
    assert next_at == NOW + timedelta(seconds=60)
    assert await runner.run_due(NOW + timedelta(seconds=30)) == []  # not yet
    [second] = await runner.run_due(NOW + timedelta(seconds=61))
    assert (second.status, second.attempts) == ("retry", 2)
    assert (await run_rows(engine, digest_id))[0][5] == NOW + timedelta(seconds=61 + 120)
    [third] = await runner.run_due(NOW + timedelta(seconds=200))
    assert (third.status, third.attempts, third.error) == ("sent", 3, None)
    assert len(mailbox.messages) == mails + 1 and len(hooks.bodies) == posts + 1


async def test_retries_stop_after_the_last_attempt(
    engine, settings, services, shop, clean, mailbox, hooks
):
    tenant, users = shop
    digest_id = await dashboard_digest(engine, tenant, users["dora"], webhook=hooks.url)
    runner = runner_for(engine, services, settings_with(settings, mailbox, digest_max_attempts=2))
    hooks.fail_next = 10
    try:
        assert [o.status for o in await runner.run_due(NOW)] == ["retry"]
        assert [o.status for o in await runner.run_due(NOW + timedelta(hours=1))] == ["failed"]
        assert await runner.run_due(NOW + timedelta(hours=5)) == []
    finally:
        hooks.fail_next = 0
    [(_, status, attempts, _, error, next_at)] = await run_rows(engine, digest_id)
    assert (status, attempts, next_at) == ("failed", 2, None) and "500" in error


async def test_a_deactivated_users_digest_fails_at_once_and_sends_nothing(
    engine, settings, services, shop, clean, mailbox
):
    tenant, users = shop
    digest_id = await dashboard_digest(engine, tenant, users["dan"], email="dan@example.com")
    mails = len(mailbox.messages)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE app_users SET is_active = false WHERE username = 'dan'")
        )
    try:
        [outcome] = await runner_for(engine, services, settings_with(settings, mailbox)).run_due(
            NOW
        )
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE app_users SET is_active = true WHERE username = 'dan'")
            )
    assert outcome.status == "failed" and "no longer an active user" in outcome.error
    assert len(mailbox.messages) == mails
    assert (await run_rows(engine, digest_id))[0][1] == "failed"


async def test_a_digest_of_another_users_private_tile_is_refused(engine, shop, clean):
    tenant, users = shop
    tile = await pins.add_tile(
        engine, Viewer(tenant.id, users["dora"]), title="Mine", kind="sql", sql=STATUS_SQL
    )
    with pytest.raises(NotFound):
        await digests.create_digest(
            engine,
            tenant_id=tenant.id,
            user_id=users["dan"],
            dashboard=False,
            tile_id=tile,
            frequency="weekly",
            weekday=0,
            hour=8,
            email="dan@example.com",
            webhook_url=None,
        )
