"""Logins (chat and admin) are limited per address and per username, refused with 429 and
``Retry-After`` before any password is hashed; hashing runs in two worker threads, never on
the event loop."""

from __future__ import annotations

import asyncio
import threading
import uuid

import httpx
import pytest
from limits import parse_many
from pwdlib import PasswordHash

import db.passwords
from app.web.state import get_state
from tests.app.web.conftest import PASSWORD, login_token


@pytest.fixture
def strict(web_server):
    """The server's throttle with small windows for this test (a fresh one: no history)."""
    from app.web.throttle import LoginThrottle

    state = get_state()
    kept = state.throttle
    state.throttle = LoginThrottle(parse_many("6/minute"), parse_many("3/minute"))
    yield state.throttle
    state.throttle = kept


@pytest.fixture
def hashed(monkeypatch):
    """Every password check that reaches argon2: the thread it ran in (the real check runs)."""
    threads: list[str] = []
    running = [0, 0]  # now, most at once
    lock = threading.Lock()
    real = PasswordHash.verify

    def counted(self: PasswordHash, password: str, password_hash: str) -> bool:
        with lock:
            threads.append(threading.current_thread().name)
            running[0] += 1
            running[1] = max(running)
        try:
            return bool(real(self, password, password_hash))
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(PasswordHash, "verify", counted)
    return threads, running


def chat_login(base: str, username: str, password: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{base}/chat/login",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": address},  # the test server trusts 127.0.0.1 as a proxy
    )


async def test_a_username_gets_three_tries_then_429_before_any_hash(web_server, strict, hashed):
    threads, _ = hashed
    base = web_server.base_url
    wrong = [chat_login(base, "bob", "wrong-password", f"198.51.100.{i}") for i in range(3)]
    assert [r.status_code for r in wrong] == [401, 401, 401]
    refused = chat_login(base, "bob", PASSWORD, "198.51.100.9")  # right, but too late
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert "access_token" not in refused.headers.get("set-cookie", "")
    assert len(threads) == 3  # the refused attempt hashed nothing
    assert chat_login(base, "ann", PASSWORD, "198.51.100.9").status_code == 200  # others can


async def test_an_address_gets_six_tries_whatever_the_usernames(web_server, strict):
    base = web_server.base_url
    names = [f"nobody-{uuid.uuid4().hex[:6]}" for _ in range(7)]
    codes = [chat_login(base, name, "wrong-password", "203.0.113.50").status_code for name in names]
    assert codes == [401] * 6 + [429]
    assert chat_login(base, "ann", PASSWORD, "203.0.113.51").status_code == 200


async def test_a_successful_login_clears_its_usernames_window(web_server, strict):
    base = web_server.base_url
    for attempt in range(2):
        assert chat_login(base, "ann", "wrong-password", f"192.0.2.{attempt}").status_code == 401
    assert chat_login(base, "ann", PASSWORD, "192.0.2.3").status_code == 200
    codes = [chat_login(base, "ann", "wrong", f"192.0.2.{10 + i}").status_code for i in range(3)]
    assert codes == [401, 401, 401]


async def test_the_admin_login_is_throttled_too(web_server, strict):
    client = httpx.Client(
        base_url=web_server.base_url,
        follow_redirects=False,
        headers={"X-Forwarded-For": "192.0.2.77"},
    )
    statuses = []
    for _ in range(4):
        form = {"username": "ann", "password": "wrong", "next": "", "csrf": login_token(client)}
        statuses.append(client.post("/admin/login", data=form))
    assert [r.status_code for r in statuses] == [401, 401, 401, 429]
    assert int(statuses[-1].headers["retry-after"]) > 0
    assert "Too many login attempts" in statuses[-1].text


async def test_passwords_are_checked_in_two_worker_threads(web_server, hashed):
    threads, running = hashed

    async def attempt(index: int) -> int:
        async with httpx.AsyncClient(base_url=web_server.base_url, timeout=120) as client:
            response = await client.post(
                "/chat/login",
                data={"username": "ann" if index % 2 else "nobody", "password": "wrong"},
                headers={"X-Forwarded-For": f"100.64.0.{index}"},
            )
            return response.status_code

    codes = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert codes == [401] * 12
    assert len(threads) == 12 and all(name.startswith("bichat-argon2") for name in threads)
    assert running[1] <= db.passwords.HASH_WORKERS
