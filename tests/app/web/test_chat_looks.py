"""How the chat looks, in a real browser: bichat's name, logo and a username field on the
login page (nothing loaded from other sites, nothing logged on the server), the shop's name
in the header after login, and SQL in a step that wraps instead of being cut off.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.app.web.conftest import PASSWORD, db_scalar
from tests.app.web.test_browser import ANSWER, ARTIFACTS, ask, log_in, page  # noqa: F401
from tests.chat_client import ChatClient
from tests.scripted_model import Call, ScriptedChatModel

LONG_SQL = (
    "SELECT o.status, count(*) AS number_of_orders_in_this_status, "
    "sum(o.total_amount) AS total_amount_of_all_orders_in_this_status_in_shop_currency, "
    "min(o.ordered_at) AS first_order_placed_in_this_status_at_shop_local_time FROM orders o "
    "WHERE o.status IN ('delivered', 'shipped', 'paid', 'cancelled', 'refunded') "
    "GROUP BY o.status ORDER BY number_of_orders_in_this_status DESC"
)


async def test_the_login_page_is_bichats(page, web_server, server_errors):  # noqa: F811
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(f"{web_server.base_url}/chat/")
    await page.wait_for_url("**/login")
    await expect(page.get_by_text("Log in to bichat")).to_be_visible()
    await expect(page.locator("label[for=email]")).to_have_text("Username")
    await expect(page.locator("#email")).to_have_attribute("placeholder", "your username")
    await expect(page.get_by_text("Email address")).to_have_count(0)
    await expect(page).to_have_title("bichat")
    logo = page.locator("img[src*='/chat/logo']").first
    await expect(logo).to_be_visible()
    svg = httpx.get(f"{web_server.base_url}/chat/logo?theme=light").text
    assert "<title>bichat</title>" in svg
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(ARTIFACTS / "chat-login.png"))
    elsewhere = [url for url in requests if not url.startswith(web_server.base_url)]
    assert elsewhere == []  # no fonts, stylesheets or images from other sites
    assert [record.getMessage() for record in server_errors] == []


async def test_the_header_names_the_shop_after_login(page, web_server):  # noqa: F811
    shop = await db_scalar(
        web_server.database_url, "SELECT name FROM tenants WHERE slug = 'web-shop'"
    )
    await log_in(page, web_server)
    await expect(page.locator("#header #bichat-shop")).to_have_text(shop)
    await page.screenshot(path=str(ARTIFACTS / "chat-shop-name.png"))


async def test_the_shop_endpoint_needs_the_chat_login(web_server):
    base = web_server.base_url
    assert httpx.get(f"{base}/api/chat/shop").status_code == 401
    forged = httpx.get(f"{base}/api/chat/shop", cookies={"access_token": "e30.e30.e30"})
    assert forged.status_code == 401
    client = ChatClient(base)
    try:
        assert (await client.login("eve", PASSWORD)).status_code == 200
        response = httpx.get(f"{base}/api/chat/shop", cookies={"access_token": client.cookie})
    finally:
        await client.close()
    assert response.json() == {"name": "Other Shop", "admin": False}  # eve's shop, not another


async def test_long_sql_in_a_step_wraps_instead_of_being_cut_off(page, web_server):  # noqa: F811
    web_server.use_model(
        ScriptedChatModel(script=[Call("run_sql", {"sql": LONG_SQL}), "Here are the statuses."])
    )
    try:
        await log_in(page, web_server)
        await ask(page, "Orders by status with totals")
        await expect(page.locator(ANSWER).last).to_contain_text("Here are", timeout=20_000)
        await page.click("#step-run_sql")
        code = page.locator("[data-step-type=tool] pre code").first
        await expect(code).to_contain_text("ORDER BY number_of_orders_in_this_status DESC")
        overflow = await code.evaluate(
            """(code) => { const out = []; let node = code;
                 while (node && node !== document.body) {
                   if (node.scrollWidth > node.clientWidth + 1) out.push(node.tagName + '.' + node.className);
                   node = node.parentElement; }
                 return out; }"""
        )
        assert overflow == []  # no box on the way up is wider than what it shows
        right_edges = await code.evaluate(
            """(code) => [code, code.closest('.rounded-lg') || code.parentElement]
                 .map((e) => e.getBoundingClientRect().right)"""
        )
        viewport = page.viewport_size["width"]
        assert right_edges[0] <= right_edges[1] + 1 <= viewport  # inside its box, on screen
        await page.screenshot(path=str(ARTIFACTS / "chat-sql-wraps.png"))
    finally:
        web_server.use_model(None)
