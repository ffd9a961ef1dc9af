"""``bichat digest``: create (needs a dashboard; bad schedules and channels named), list, and
``run`` sending a due digest once to a local webhook receiver; ``runs`` shows its outcome."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.store import pins
from app.store.pins import Viewer
from db.engine import create_engine
from tests.app.cli.conftest import shop_with_user
from tests.app.digests.test_digests import Hooks, webhook_server
from tests.app.web.api_client import owner_query


@pytest.fixture
def shop(bichat):
    return shop_with_user(bichat, "digest-cli", "Digest Shop", "dina")


def owner(url: str, sql: str, **params):
    return asyncio.run(owner_query(url, sql, **params))


def pin_for(url: str, username: str) -> None:
    [(tenant, user)] = owner(
        url, "SELECT tenant_id, id FROM app_users WHERE username = :u", u=username
    )

    async def work():
        engine = create_engine(url)
        try:
            await pins.add_tile(
                engine,
                Viewer(tenant, user),
                title="Orders",
                kind="sql",
                sql="SELECT count(*) AS orders FROM orders",
            )
        finally:
            await engine.dispose()

    asyncio.run(work())


def test_bad_schedules_and_channels_are_named(bichat, shop):
    base = ("digest", "create", "--tenant", shop, "--user", "dina", "--json")
    cases = {
        ("--email", "a@example.com"): "invalid_schedule",
        ("--daily", "--weekly", "monday", "--email", "a@example.com"): "invalid_schedule",
        ("--weekly", "someday", "--email", "a@example.com"): "invalid_schedule",
        ("--daily",): "no_channel",
        ("--daily", "--email", "a@example.com, b@example.com"): "invalid_email",
        ("--daily", "--webhook", "file:///etc/passwd"): "invalid_webhook",
        ("--daily", "--email", "a@example.com"): "no_dashboard",  # nothing pinned yet
    }
    for args, code in cases.items():
        result = bichat(*base, *args)
        assert result.exit_code == 1 and json.loads(result.stdout)["error"]["code"] == code, args


def test_create_list_run_and_runs(bichat, shop, database_url):
    hooks = Hooks()
    server = webhook_server(hooks)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        pin_for(database_url, "dina")
        made = bichat(
            "digest",
            "create",
            "--tenant",
            shop,
            "--user",
            "dina",
            "--weekly",
            "fri",
            "--hour",
            "0",
            "--webhook",
            url,
            "--json",
        )
        assert made.exit_code == 0, made.output
        digest = json.loads(made.stdout)
        assert (digest["frequency"], digest["weekday"], digest["hour"]) == ("weekly", 4, 0)
        assert digest["target"].startswith("dashboard ")
        listed = json.loads(bichat("digest", "list", "--tenant", shop, "--json").stdout)
        assert [d["id"] for d in listed] == [digest["id"]]
        owner(database_url, "UPDATE digests SET created_at = now() - interval '30 days'")
        ran = bichat("digest", "run", "--json")
        outcomes = [o for o in json.loads(ran.stdout) if o["digest_id"] == digest["id"]]
        assert [(o["status"], o["delivered"]) for o in outcomes] == [("sent", ["webhook"])], (
            ran.output
        )
        assert "Orders" in json.dumps(hooks.bodies[-1])
        again = json.loads(bichat("digest", "run", "--json").stdout)
        assert [o for o in again if o["digest_id"] == digest["id"]] == []  # sent once per due time
        runs = json.loads(bichat("digest", "runs", "--tenant", shop, "--json").stdout)
        assert [(r["digest_id"], r["status"]) for r in runs] == [(digest["id"], "sent")]
    finally:
        server.shutdown()
