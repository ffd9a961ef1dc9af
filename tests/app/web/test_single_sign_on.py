"""One sign-on between the chat and the admin pages (app.web.single_sign_on): over HTTP (who
gets in, for how long, what logging out ends) and in a real browser (both directions)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from itsdangerous import URLSafeTimedSerializer
from playwright.async_api import expect

from app.web.admin_auth import SALT
from app.web.first_run import auth_secret
from tests.app.web.conftest import PASSWORD, admin_login, db_scalar
from tests.app.web.test_admin import write_conversation
from tests.app.web.test_browser import ARTIFACTS, log_in, page  # noqa: F401  (the browser)

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def chat_secret() -> str:
    from chainlit.auth.jwt import get_jwt_secret

    return get_jwt_secret() or ""


def chat_login(client: httpx.Client, username: str) -> str:
    """Log in to the chat as its page does; the token cookie (path /) stays in ``client``."""
    response = client.post("/chat/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return client.cookies["access_token"]


def admin_session(web_server, client: httpx.Client) -> dict:
    value = client.cookies.get("bichat_admin", path="/admin")
    assert value, "no admin session"
    return URLSafeTimedSerializer(auth_secret(web_server.settings), salt=SALT).loads(value)


def set_cookie(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def max_age(header: str) -> int:
    part = next(p for p in header.split(";") if p.strip().lower().startswith("max-age="))
    return int(part.split("=")[1])


@pytest.fixture
def client(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield client


def test_a_chat_login_of_an_admin_opens_the_admin_pages(web_server, client):
    token = chat_login(client, "ann")
    issued = jwt.decode(token, options={"verify_signature": False})["iat"]
    response = client.get("/admin/usage?since=2026-11-01", headers=SAME_ORIGIN)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/usage?since=2026-11-01"
    cookie = set_cookie(response, "bichat_admin")
    for flag in ("HttpOnly", "Path=/admin", "SameSite=strict"):
        assert flag.lower() in cookie.lower()
    assert max_age(cookie) <= web_server.settings.session_max_age_s
    assert admin_session(web_server, client)["t"] == issued  # the chat's login, not now
    usage = client.get("/admin/usage?since=2026-11-01", headers=SAME_ORIGIN)
    assert usage.status_code == 200 and 'id="shop-name"' in usage.text


def test_a_typed_address_signs_on_too(client):
    chat_login(client, "ann")
    response = client.get("/admin/conversations", headers={"Sec-Fetch-Site": "none"})
    assert response.status_code == 303 and "bichat_admin" in response.headers["set-cookie"]


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_link_from_another_site_does_not_sign_on(client, site):
    chat_login(client, "ann")
    response = client.get("/admin/conversations", headers={"Sec-Fetch-Site": site})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert "bichat_admin=" not in response.headers.get("set-cookie", "")


def test_a_form_post_with_only_the_chat_login_is_refused(client):
    chat_login(client, "ann")
    response = client.post("/admin/tokens", data={"user_id": "1", "name": "x"}, headers=SAME_ORIGIN)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert "bichat_admin=" not in response.headers.get("set-cookie", "")


def test_an_analyst_logged_into_the_chat_does_not_get_into_admin(client):
    chat_login(client, "bob")
    response = client.get("/admin/conversations", headers=SAME_ORIGIN)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
    assert "bichat_admin=" not in response.headers.get("set-cookie", "")
    assert client.get("/admin/open-chat", headers=SAME_ORIGIN).status_code == 303
    assert "bichat_admin" not in client.cookies


async def test_a_forged_or_expired_chat_token_does_not_sign_on(web_server, client):
    ann_id = await db_scalar(
        web_server.database_url, "SELECT id FROM app_users WHERE username = 'ann'"
    )
    claims = {"identifier": "ann", "metadata": {"user_id": ann_id, "role": "admin"}}
    old = time.time() - web_server.settings.session_max_age_s - 5
    expired = jwt.encode({**claims, "iat": int(old), "exp": int(time.time()) + 60}, chat_secret())
    forged = jwt.encode({**claims, "iat": int(time.time()), "exp": 2**31}, "not-the-secret")
    for token in (expired, forged):
        client.cookies.set("access_token", token)
        response = client.get("/admin/conversations", headers=SAME_ORIGIN)
        assert response.headers["location"].startswith("/admin/login")


def test_a_session_signed_on_from_the_chat_ends_with_the_chat_login(web_server, client):
    """A chat login about to expire gives an admin session that expires with it."""
    token = chat_login(client, "ann")
    claims = jwt.decode(token, chat_secret(), algorithms=["HS256"])
    lifetime = web_server.settings.session_max_age_s
    claims["iat"] = int(time.time()) - lifetime + 30
    client.cookies.set("access_token", jwt.encode(claims, chat_secret()))
    response = client.get("/admin/conversations", headers=SAME_ORIGIN)
    assert max_age(set_cookie(response, "bichat_admin")) <= 30
    assert admin_session(web_server, client)["t"] == claims["iat"]


async def test_another_shops_admin_sees_only_their_shop(web_server, client):
    for tenant, user, question, sql in (
        ("web-shop", "ann", "SSO: a question of web-shop", "SELECT 1 AS sso_web_shop"),
        ("web-other", "olga", "SSO: a question of the other shop", "SELECT 2 AS sso_other"),
    ):  # SQL of their own: other tests look for web-shop's usual SQL in the other shop
        await write_conversation(
            web_server.database_url, tenant=tenant, user=user, question=question, sql=sql
        )
    chat_login(client, "olga")
    client.get("/admin/conversations", headers=SAME_ORIGIN)
    listing = client.get("/admin/conversations", headers=SAME_ORIGIN)
    assert listing.status_code == 200
    assert "Other Shop" in listing.text
    assert "SSO: a question of the other shop" in listing.text
    assert "SSO: a question of web-shop" not in listing.text


def test_open_chat_carries_the_admin_login_and_its_time(web_server, client):
    admin_login(client, "ann")
    logged_in_at = admin_session(web_server, client)["t"]
    response = client.get("/admin/open-chat")
    assert response.status_code == 303 and response.headers["location"] == "/chat/"
    cookie = set_cookie(response, "access_token")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax"):
        assert flag.lower() in cookie.lower()
    claims = jwt.decode(client.cookies["access_token"], chat_secret(), algorithms=["HS256"])
    assert claims["iat"] == logged_in_at
    assert claims["exp"] == logged_in_at + web_server.settings.session_max_age_s
    assert claims["identifier"] == "ann" and claims["metadata"]["role"] == "admin"
    assert client.get("/chat/user").json()["identifier"] == "ann"


@pytest.mark.parametrize(
    ("asked", "opened"),
    [("/dashboard", "/dashboard"), ("https://elsewhere.example/", "/chat/"), ("//x.y", "/chat/")],
)
def test_open_chat_opens_the_dashboard_too_and_nothing_else(client, asked, opened):
    admin_login(client, "ann")
    response = client.get("/admin/open-chat", params={"next": asked})
    assert response.status_code == 303 and response.headers["location"] == opened
    if opened == "/dashboard":
        assert client.get("/dashboard").status_code == 200  # the chat's login is its login


def test_logging_out_of_either_ends_both(web_server, client):
    chat_login(client, "ann")
    client.get("/admin/conversations", headers=SAME_ORIGIN)
    assert client.cookies.get("bichat_admin", path="/admin")
    client.post("/chat/logout")
    assert "access_token" not in client.cookies and "bichat_admin" not in client.cookies
    assert client.get("/admin/conversations").headers["location"].startswith("/admin/login")

    admin_login(client, "ann")
    client.get("/admin/open-chat")
    listing = client.get("/admin/conversations")
    csrf = listing.text.split('name="csrf" value="')[1].split('"')[0]
    client.post("/admin/logout", data={"csrf": csrf})
    assert "access_token" not in client.cookies and "bichat_admin" not in client.cookies
    assert client.get("/chat/user").status_code == 401


async def test_chat_to_admin_and_back_in_the_browser(web_server, page):  # noqa: F811
    await log_in(page, web_server)  # the chat's login page, as ann (web-shop's admin)
    await page.click("#bichat-admin")  # the chat's header links admins to the admin pages
    await page.wait_for_url("**/admin/conversations")
    await expect(page.locator("#shop-name")).to_be_visible()
    await page.goto(f"{web_server.base_url}/admin/usage")
    await page.wait_for_url("**/admin/usage")
    await page.screenshot(path=str(ARTIFACTS / "sso-chat-to-admin.png"))

    await page.context.clear_cookies()
    await page.goto(f"{web_server.base_url}/admin/conversations")
    await page.wait_for_url("**/admin/login**")
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/conversations")
    await page.click("#nav-chat")
    await page.wait_for_selector("[id^=starter-]", timeout=20_000)  # no login page on the way
    assert "/login" not in page.url
    await page.screenshot(path=str(ARTIFACTS / "sso-admin-to-chat.png"))


async def test_an_analyst_in_the_browser_meets_the_admin_login(web_server, page):  # noqa: F811
    await log_in(page, web_server, username="bob")
    await expect(page.locator("#bichat-shop")).to_be_visible()
    await expect(page.locator("#bichat-admin")).to_have_count(0)  # no link for an analyst
    await page.goto(f"{web_server.base_url}/admin/conversations")
    await page.wait_for_url("**/admin/login**")
    await expect(page.locator("#username")).to_be_visible()
