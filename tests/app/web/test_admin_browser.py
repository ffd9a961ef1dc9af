"""The admin pages in a real browser (Playwright, Debian's Chromium): log in, filter the
conversations, open a transcript, see the usage chart drawn under the pages' CSP, promote a
thumbs-up answer into a verified query. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from playwright.async_api import expect

from tests.app.web.conftest import PASSWORD
from tests.app.web.test_admin import write_conversation
from tests.app.web.test_browser import ARTIFACTS, page  # noqa: F401  (the browser fixture)


async def test_an_admin_reviews_and_promotes_in_the_browser(web_server, page):  # noqa: F811
    liked = await write_conversation(
        web_server.database_url,
        tenant="web-shop",
        user="ann",
        question="Browser: orders by status",
        thumbs=1,
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    await page.goto(f"{web_server.base_url}/admin/usage")
    await page.wait_for_url("**/admin/login?next=/admin/usage")
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/usage")
    await expect(page.locator("#usage-chart .main-svg").first).to_be_visible(timeout=20_000)
    await page.screenshot(path=str(ARTIFACTS / "admin-usage.png"), full_page=True)

    await page.click("#nav-conversations")
    await page.fill("input[name=text]", "browser")
    await page.click("#apply")
    rows = page.locator("#conversations tbody tr")
    await expect(rows).to_have_count(1)
    await page.screenshot(path=str(ARTIFACTS / "admin-conversations.png"), full_page=True)
    await rows.first.locator("a").click()
    await expect(page.locator("#title")).to_have_text("Browser: orders by status")
    await expect(page.locator("pre.sql").first).to_contain_text("GROUP BY status")
    await page.screenshot(path=str(ARTIFACTS / "admin-transcript.png"), full_page=True)

    await page.click(f"#promote-{liked.answer_id}")
    await expect(page.locator("#new-question")).to_have_value("Browser: orders by status")
    await page.fill("#new-question", "Browser: how many orders per status?")
    await page.click("#save-new")
    await expect(page.locator("#notice")).to_have_text("Saved.")
    newest = page.locator("#library input[name=question]").first  # own queries, newest first
    await expect(newest).to_have_value("Browser: how many orders per status?")
    await expect(page.locator(f"#suggest-{liked.answer_id}")).to_have_count(0)
    await page.screenshot(path=str(ARTIFACTS / "admin-verified.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
