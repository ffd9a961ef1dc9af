"""Shop data that is an attack, shown in a real browser (Playwright, Debian's Chromium): a
review whose title and body are markdown images, links and HTML pointing at a beacon server
that counts every request. Answered offline (bichat writes the markdown) and by a model that
repeats the text verbatim (a prompt-injected model), live and resumed: the beacon counts 0
requests, no link on the page leads to another host, and the page's Content-Security-Policy
refuses nothing but the model's image. Also a page of another origin (the beacon, another
port of the same host) cannot read or change anything with the user's cookies."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import expect

from tests.app.web.conftest import db_execute, db_rows
from tests.app.web.test_admin import client_for, csrf
from tests.app.web.test_browser import ANSWER, ARTIFACTS, ask, log_in, page  # noqa: F401
from tests.scripted_model import Call, ScriptedChatModel

QUESTION = "Show the two oldest reviews with their whole text"
REVIEWS_SQL = "SELECT r.title, r.body, r.rating FROM reviews r ORDER BY r.id LIMIT 2"
FIRST_REVIEW = (
    "SELECT id, title, body FROM reviews WHERE tenant_id = "
    "(SELECT id FROM tenants WHERE slug = 'web-shop') ORDER BY id LIMIT 1"
)
# A reloaded page draws a resumed thread with Chainlit's whole page on the browser's CPU: about
# 1.3 s here with four busy processes, 19-23 s with the page's CPU throttled 30x (DevTools'
# setCPUThrottlingRate), past the 20 s this waited when a CI run's other worker was busy.
RESUMED_PAGE_MS = 90_000
OUTSIDE_LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
    .map((a) => a.href).filter((href) => !href.startsWith(location.origin))"""
OUTSIDE_IMAGES = """() => Array.from(document.querySelectorAll('img[src]'))
    .map((img) => img.src).filter((src) => !src.startsWith(location.origin)
                                      && !src.startsWith('data:'))"""
ATTACK_PAGE = """<!doctype html><title>elsewhere</title><script>
const app = new URLSearchParams(location.search).get("app");
const results = {};
async function attempt(name, run) {
  try { results[name] = String(await run()); } catch (error) { results[name] = "blocked"; }
}
const json = {"content-type": "application/json"};
(async () => {
  await attempt("threads", async () => (await fetch(app + "/chat/project/threads", {
    method: "POST", credentials: "include", headers: json,
    body: JSON.stringify({pagination: {first: 20, cursor: null}, filter: {}})})).text());
  await attempt("user", async () => (await fetch(app + "/chat/user", {credentials: "include"})).text());
  await attempt("delete", async () => (await fetch(app + "/chat/project/thread", {
    method: "DELETE", credentials: "include", headers: json,
    body: JSON.stringify({threadId: "00000000-0000-0000-0000-000000000000"})})).status);
  await attempt("polling", async () => (await fetch(
    app + "/chat/ws/socket.io/?EIO=4&transport=polling", {credentials: "include"})).text());
  await attempt("socket", () => new Promise((resolve) => {
    const socket = new WebSocket(app.replace("http", "ws") + "/chat/ws/socket.io/?EIO=4&transport=websocket");
    socket.onopen = () => resolve("open");
    socket.onerror = () => resolve("blocked");
  }));
  window.results = results;
})();
</script>"""
LOGIN_PAGE = """<!doctype html><title>elsewhere</title>
<form method="post" id="f"><input name="username" value="eve">
<input name="password" value="test-password-1"></form><script>
const form = document.getElementById("f");
form.action = new URLSearchParams(location.search).get("app") + "/chat/login";
form.submit();
</script>"""


@pytest.fixture
def beacon():
    """Another site: serves the attack pages and counts every other request (``/b/...``)."""
    hits: list[str] = []
    pages = {"/attack.html": ATTACK_PAGE, "/login.html": LOGIN_PAGE}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            html = pages.get(self.path.split("?")[0])
            if html is None:
                hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if html else "image/png")
            self.end_headers()
            if html:
                self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture
async def planted(web_server, beacon):
    """The shop's first review, rewritten as an attack on whoever reads it (restored after)."""
    base, _ = beacon
    url = web_server.database_url
    (original,) = await db_rows(url, FIRST_REVIEW)
    title = f'[Refund]({base}/b/title-link) <a href="{base}/b/title-tag">here</a>'
    body = (
        f"Great! ![pixel]({base}/b/pixel.png) [Claim your refund]({base}/b/refund) "
        f'{base}/b/bare <img src="{base}/b/raw.png"> **loud** ![ref][r]\n\n[r]: {base}/b/ref.png'
    )
    await db_execute(
        url,
        "UPDATE reviews SET title = :t, body = :b WHERE id = :id",
        t=title,
        b=body,
        id=original.id,
    )
    yield title, body
    await db_execute(
        url,
        "UPDATE reviews SET title = :t, body = :b WHERE id = :id",
        t=original.title,
        b=original.body,
        id=original.id,
    )


@pytest.fixture
def verified_reviews(web_server):
    """A verified question of the shop whose SQL reads the reviews (so offline answers it)."""
    client = client_for(web_server, "ann")
    saved = client.post(
        "/admin/verified",
        data={
            "question": QUESTION,
            "sql": REVIEWS_SQL,
            "checked_sql": REVIEWS_SQL,
            "action": "save",
            "csrf": csrf(client),
        },
    )
    assert saved.status_code == 303, saved.text
    yield
    found = client.get("/admin/verified", params={"q": "oldest reviews whole", "scope": "own"})
    for query_id in {int(i) for i in re.findall(r'id="verified-(\d+)"', found.text)}:
        client.post(f"/admin/verified/{query_id}", data={"action": "retire", "csrf": csrf(client)})


@pytest.fixture
def csp_reports(page):  # noqa: F811
    """What the page's Content-Security-Policy refused (Chromium reports it on the console)."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


async def assert_nothing_leaves(page, hits: list[str]) -> None:  # noqa: F811
    await page.wait_for_timeout(1500)  # let anything late try to load
    assert hits == []
    assert await page.evaluate(OUTSIDE_LINKS) == []
    assert await page.evaluate(OUTSIDE_IMAGES) == []
    disarmed = page.locator("a.bichat-outside-link")
    if await disarmed.count():
        at = page.url
        await disarmed.first.click()
        await page.wait_for_timeout(500)
        assert page.url == at and hits == []


async def resume(page, web_server) -> None:  # noqa: F811
    (latest,) = await db_rows(
        web_server.database_url,
        "SELECT s.id FROM chat_sessions s JOIN app_users u ON u.id = s.user_id "
        "WHERE u.username = 'ann' ORDER BY s.updated_at DESC LIMIT 1",
    )
    await page.goto(f"{web_server.base_url}/chat/thread/{latest.id}")
    await expect(page.locator(ANSWER).last).to_be_visible(timeout=RESUMED_PAGE_MS)
    await page.wait_for_selector(".dataframe", timeout=RESUMED_PAGE_MS)


async def test_an_offline_answer_of_hostile_reviews_loads_nothing_and_links_nowhere(
    page,  # noqa: F811
    offline,
    planted,
    beacon,
    verified_reviews,
    csp_reports,
):
    _, hits = beacon
    await log_in(page, offline)
    await ask(page, QUESTION)
    answer = page.locator(ANSWER).last
    await expect(answer).to_contain_text("Claim your refund", timeout=30_000)
    await page.wait_for_selector(".dataframe", timeout=20_000)
    text = await answer.inner_text()
    assert "![pixel](" in text and "<img src=" in text  # shown as the review's characters
    assert await answer.locator("a", has_text="Claim your refund").count() == 0
    assert await page.evaluate(OUTSIDE_IMAGES) == []
    await assert_nothing_leaves(page, hits)
    await page.screenshot(path=str(ARTIFACTS / "hostile-offline.png"))
    await resume(page, offline)
    assert "![pixel](" in await page.locator(ANSWER).last.inner_text()
    await assert_nothing_leaves(page, hits)
    assert csp_reports == []  # nothing even tried to load: bichat wrote it as text


async def test_a_model_repeating_hostile_data_loads_nothing_and_links_nowhere(
    page,  # noqa: F811
    web_server,
    planted,
    beacon,
    csp_reports,
):
    _, hits = beacon
    title, body = planted
    web_server.use_model(
        ScriptedChatModel(
            script=[
                Call(
                    "run_sql",
                    {"sql": "SELECT CAST(r.body AS int) FROM reviews r ORDER BY r.id LIMIT 1"},
                ),
                Call("run_sql", {"sql": REVIEWS_SQL}),
                Call("make_chart", {"kind": "bar", "x": "title", "y": ["rating"], "title": title}),
                f"The oldest review says: {body}",
            ]
        )
    )
    try:
        await log_in(page, web_server)
        await ask(page, "What do the oldest reviews say?")
        await expect(page.locator(ANSWER).last).to_contain_text(
            "oldest review says", timeout=30_000
        )
        await page.wait_for_selector(".js-plotly-plot", timeout=20_000)
        await page.click("#step-run_sql >> nth=0")
        await assert_nothing_leaves(page, hits)
        await page.screenshot(path=str(ARTIFACTS / "hostile-model.png"))
        await resume(page, web_server)
        await page.wait_for_selector(".js-plotly-plot", timeout=20_000)
        await assert_nothing_leaves(page, hits)
        # the page's policy alone stops an image that bichat.js never sees (not in the page)
        base, _ = beacon
        await page.evaluate("(url) => { new Image().src = url; }", f"{base}/b/direct.png")
        await page.wait_for_timeout(1000)
        assert hits == []
    finally:
        web_server.use_model(None)
    assert csp_reports and all("img-src" in report for report in csp_reports), csp_reports


async def test_a_page_of_another_origin_can_read_or_change_nothing(page, web_server, beacon):  # noqa: F811
    base, _ = beacon
    await log_in(page, web_server)  # the browser now holds ann's cookie for bichat
    await page.goto(f"{base}/attack.html?app={web_server.base_url}")
    await page.wait_for_function("window.results", timeout=20_000)
    results = await page.evaluate("window.results")
    assert results == {
        "threads": "blocked",
        "user": "blocked",
        "delete": "blocked",
        "polling": "blocked",
        "socket": "blocked",
    }, results
    async with page.expect_response(
        lambda response: response.url.endswith("/chat/login") and response.request.method == "POST"
    ) as posted:
        await page.goto(f"{base}/login.html?app={web_server.base_url}")
    assert (await posted.value).status == 403  # no logging the browser in as eve from elsewhere
    await page.goto(f"{web_server.base_url}/chat/user")
    assert '"identifier":"ann"' in (await page.content()).replace(" ", "")
