"""A login lasts ``BICHAT_SESSION_MAX_AGE_S`` (12 h) and no longer than its user: deactivating
or deleting a user, or deleting their tenant, ends their chat and admin sessions at the next
request (HTTP, socket connection, turn on an open socket), not when the token expires."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import jwt
import pytest
import socketio

from db.engine import create_engine
from db.tenants import create_tenant, delete_tenant
from db.users import create_user
from tests.app.web.conftest import PASSWORD, admin_login, db_execute, db_rows
from tests.chat_client import ChatClient

TWELVE_HOURS_S = 12 * 3600


async def new_user(web_server, *, tenant: str = "web-shop", admin: bool = True) -> str:
    username = f"user-{uuid.uuid4().hex[:8]}"
    engine = create_engine(web_server.database_url)
    try:
        async with engine.begin() as connection:
            if tenant != "web-shop":
                await create_tenant(
                    connection, slug=tenant, name=tenant, settings=web_server.settings
                )
            await create_user(
                connection, username=username, tenant_slug=tenant, password=PASSWORD, admin=admin
            )
    finally:
        await engine.dispose()
    return username


async def logged_in(web_server, username: str) -> tuple[ChatClient, httpx.Client]:
    chat = ChatClient(web_server.base_url)
    assert (await chat.login(username, PASSWORD)).status_code == 200
    admin = httpx.Client(base_url=web_server.base_url, follow_redirects=False)
    assert admin_login(admin, username).status_code == 303
    return chat, admin


async def assert_shut_out(chat: ChatClient, admin: httpx.Client) -> None:
    assert (await chat.http.get("/user")).status_code == 401
    threads = await chat.http.post(
        "/project/threads", json={"pagination": {"first": 5, "cursor": None}, "filter": {}}
    )
    assert threads.status_code == 401
    shop = await chat.http.get(chat.base_url + "/api/chat/shop")
    assert shop.status_code == 401
    with pytest.raises(socketio.exceptions.ConnectionError):
        await chat.turn("How many orders are there?", timeout_s=20)
    page = admin.get("/admin/conversations")
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")


async def questions_of(web_server, username: str) -> int:
    found = await db_rows(
        web_server.database_url,
        "SELECT count(*) AS n FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id "
        "JOIN app_users u ON u.id = s.user_id WHERE u.username = :u AND m.role = 'user'",
        u=username,
    )
    return int(found[0].n)


async def test_the_chat_token_lasts_the_session_setting(web_server):
    client = ChatClient(web_server.base_url)
    try:
        response = await client.login("ann", PASSWORD)
    finally:
        await client.close()
    claims = jwt.decode(client.cookie, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == pytest.approx(TWELVE_HOURS_S, abs=2)
    assert f"max-age={TWELVE_HOURS_S}" in response.headers["set-cookie"].lower()
    admin = httpx.Client(base_url=web_server.base_url, follow_redirects=False)
    assert f"max-age={TWELVE_HOURS_S}" in admin_login(admin, "ann").headers["set-cookie"].lower()


async def test_a_token_older_than_the_setting_is_refused(web_server):
    """A token signed with the server's secret but issued 13 hours ago (as the 15-day tokens
    of before were) no longer logs anyone in."""
    now = int(time.time())
    user_id = (
        await db_rows(web_server.database_url, "SELECT id FROM app_users WHERE username = 'ann'")
    )[0].id
    token = jwt.encode(
        {
            "identifier": "ann",
            "metadata": {"user_id": user_id, "role": "admin", "tenant": "web-shop"},
            "iat": now - 13 * 3600,
            "exp": now + 14 * 24 * 3600,
        },
        os.environ["CHAINLIT_AUTH_SECRET"],
        algorithm="HS256",
    )
    response = httpx.get(f"{web_server.base_url}/chat/user", cookies={"access_token": token})
    assert response.status_code == 401


async def test_deactivating_a_user_ends_their_sessions_at_once(web_server, offline):
    username = await new_user(web_server)
    chat, admin = await logged_in(web_server, username)
    try:
        assert (await chat.http.get("/user")).status_code == 200
        assert admin.get("/admin/conversations").status_code == 200

        async def deactivate() -> None:  # while the socket is open, before the question
            await db_execute(
                web_server.database_url,
                "UPDATE app_users SET is_active = false WHERE username = :u",
                u=username,
            )

        turn = await chat.turn("How many orders are there?", before_send=deactivate)
        assert "log in again" in turn.answer()["output"]
        assert await questions_of(web_server, username) == 0  # no turn ran
        await assert_shut_out(chat, admin)
    finally:
        await chat.close()


async def test_deleting_a_user_or_their_tenant_ends_their_sessions(web_server, offline):
    doomed = await new_user(web_server, admin=False)
    chat, admin = await logged_in(web_server, doomed)
    try:
        await db_execute(
            web_server.database_url, "DELETE FROM app_users WHERE username = :u", u=doomed
        )
        await assert_shut_out(chat, admin)
    finally:
        await chat.close()

    slug = f"web-gone-{uuid.uuid4().hex[:6]}"
    username = await new_user(web_server, tenant=slug)
    chat, admin = await logged_in(web_server, username)
    try:
        assert (await chat.http.get("/user")).status_code == 200
        engine = create_engine(web_server.database_url)
        try:
            async with engine.begin() as connection:
                await delete_tenant(connection, slug=slug)
        finally:
            await engine.dispose()
        await assert_shut_out(chat, admin)
    finally:
        await chat.close()


async def test_a_token_cannot_be_traded_for_a_fresh_one(web_server):
    """Chainlit's /auth/jwt would mint a new cookie for any valid token, stretching a session
    past its age for ever."""
    client = ChatClient(web_server.base_url)
    try:
        await client.login("ann", PASSWORD)
        response = await client.http.post(
            "/auth/jwt", headers={"Authorization": f"Bearer {client.cookie}"}
        )
    finally:
        await client.close()
    assert response.status_code == 404
    assert "access_token" not in response.headers.get("set-cookie", "")
