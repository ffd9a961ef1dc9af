"""The admin pages in a real browser (Playwright, Debian's Chromium): log in, the usage chart
(drawn on the server) and its empty state, filter the conversations, a transcript whose
answer is markdown (rendered, with nothing fetched from elsewhere), promote a thumbs-up
answer through the check-then-save form, find it in the library. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from playwright.async_api import expect

from tests.app.web.conftest import PASSWORD
from tests.app.web.test_admin import write_conversation
from tests.app.web.test_browser import ARTIFACTS, page  # noqa: F401  (the browser fixture)


@pytest.fixture
def elsewhere():
    """Another server: a markdown image or link in an answer points here. It counts hits."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


async def admin_login(page, web_server, next_path: str = "/admin/usage") -> None:  # noqa: F811
    await page.goto(f"{web_server.base_url}{next_path}")
    await page.wait_for_url(f"**/admin/login?next={next_path}")
    await page.screenshot(path=str(ARTIFACTS / "admin-login.png"))
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"**{next_path}")


async def test_an_admin_reviews_and_promotes_in_the_browser(web_server, page, elsewhere):  # noqa: F811
    other_origin, hits = elsewhere
    liked = await write_conversation(
        web_server.database_url,
        tenant="web-shop",
        user="ann",
        question="Browser: orders by status",
        thumbs=1,
        answer=(
            "Most orders are **delivered**.\n\n| status | orders |\n|---|---|\n| delivered | 250 |\n\n"
            f"![tracker]({other_origin}/pixel.png) See [the report]({other_origin}/report)."
            "\n\n<img src=x onerror=alert(1)>"
        ),
    )
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.on("request", lambda request: requests.append(request.url))
    await admin_login(page, web_server)
    await expect(page.locator("#usage-chart svg rect").first).to_be_attached()
    await expect(page.locator("#usage-chart svg")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "admin-usage.png"), full_page=True)
    await page.goto(f"{web_server.base_url}/admin/usage?since=2001-01-01&until=2001-01-30")
    await expect(page.locator("#usage-empty")).to_contain_text("No model calls")
    await expect(page.locator("#usage-chart")).to_have_count(0)
    await page.screenshot(path=str(ARTIFACTS / "admin-usage-empty.png"), full_page=True)

    await page.click("#nav-conversations")
    await page.fill("input[name=text]", "browser")
    await page.click("#apply")
    rows = page.locator("#conversations tbody tr")
    await expect(rows).to_have_count(1)
    await page.screenshot(path=str(ARTIFACTS / "admin-conversations.png"), full_page=True)
    await rows.first.locator("a").click()
    await expect(page.locator("#title")).to_have_text("Browser: orders by status")
    await expect(page.locator(".sql-code").first).to_contain_text("GROUP BY status")
    answer = page.locator(f"#message-{liked.answer_id} .markdown")
    await expect(answer.locator("strong")).to_have_text("delivered")
    await expect(answer.locator("table td").first).to_have_text("delivered")
    await expect(answer.locator("a")).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(answer).to_contain_text(f"[image: tracker · {other_origin}/pixel.png]")
    await expect(answer).to_contain_text("<img src=x onerror=alert(1)>")  # as text
    assert await answer.locator("img").count() == 0
    await page.screenshot(path=str(ARTIFACTS / "admin-transcript.png"), full_page=True)
    assert hits == [] and not [url for url in requests if url.startswith(other_origin)]

    await page.click("#nav-verified")
    await page.click(f"#suggest-{liked.answer_id}")
    await expect(page.locator("#question")).to_have_value("Browser: orders by status")
    await expect(page.locator("#save")).to_have_count(0)  # nothing is saved unchecked
    await page.fill("#question", "Browser: how many orders per status?")
    await page.fill("#sql", "SELECT status FROM no_such_table")
    await page.click("#check")
    await expect(page.locator("#refusal")).to_contain_text("not verified")
    await page.fill("#sql", "SELECT status, count(*) AS orders FROM orders GROUP BY status")
    await page.click("#check")
    await expect(page.locator("#preview-rows thead th")).to_have_text(["status", "orders"])
    await expect(page.locator("#preview-rows tbody tr").first).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "admin-verified-check.png"), full_page=True)
    await page.click("#save")
    await expect(page.locator("#notice")).to_have_text("Saved.")
    await expect(page.locator(f"#suggest-{liked.answer_id}")).to_have_count(0)
    await page.fill("#search", "how many orders per status")
    await page.click("#search-button")
    await expect(page.locator("#library tbody tr")).to_have_count(1)
    await expect(page.locator("#library .question")).to_have_text(
        "Browser: how many orders per status?"
    )
    await page.screenshot(path=str(ARTIFACTS / "admin-verified.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
