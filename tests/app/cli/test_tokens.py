"""``bichat tokens``: a token printed once, listed without itself, revoked; bad input named."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.store.tokens import AccessRefused, principal_for_token
from db.engine import create_engine
from tests.app.cli.conftest import shop_with_user


@pytest.fixture
def shop(bichat):
    """The shop ``token-shop`` with the user ``tia`` (made by the first test of the module)."""
    return shop_with_user(bichat, "token-shop", "Token Shop", "tia")


def principal(url: str, token: str):
    async def read():
        engine = create_engine(url)
        try:
            return await principal_for_token(engine, token)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_create_list_and_revoke(bichat, shop, database_url):
    made = bichat(
        "tokens",
        "create",
        "--tenant",
        shop,
        "--user",
        "tia",
        "--name",
        "my script",
        "--expires-days",
        "7",
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("bichat_") and len(token) > 40 and "shown once" in made.stderr
    as_json = json.loads(bichat("tokens", "create", "--user", "tia", "--json").stdout)
    listed = bichat("tokens", "list", "--tenant", shop, "--json")
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert token not in listed.stdout and as_json["token"] not in listed.stdout
    [first] = [row for row in rows.values() if row["name"] == "my script"]
    assert first["status"] == "active" and first["username"] == "tia" and first["expires_at"]
    assert token.startswith(first["prefix"])
    who = principal(database_url, token)
    assert (who.username, who.tenant.slug) == ("tia", shop)
    revoked = json.loads(bichat("tokens", "revoke", str(first["id"]), "--json").stdout)
    assert revoked["status"] == "revoked"
    with pytest.raises(AccessRefused) as refused:
        principal(database_url, token)
    assert refused.value.code == "token_revoked"
    assert principal(database_url, as_json["token"]).token_id == as_json["id"]


def test_bad_input_is_named(bichat, shop):
    unknown = bichat("tokens", "create", "--tenant", shop, "--user", "nobody", "--json")
    assert json.loads(unknown.stdout)["error"]["code"] == "unknown_user" and unknown.exit_code == 1
    forever = bichat("tokens", "create", "--tenant", shop, "--user", "tia", "--expires-days", "0")
    assert forever.exit_code == 1 and "expires-days must be from 1" in forever.stderr
    missing = bichat("tokens", "revoke", "999999", "--tenant", shop, "--json")
    assert json.loads(missing.stdout)["error"]["code"] == "unknown_token"
