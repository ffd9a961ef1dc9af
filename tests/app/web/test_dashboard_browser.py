"""Pin in the chat, see it on the dashboard, in a real browser (Playwright driving Debian's
Chromium): the offline engine answers a metric question, its Pin button pins it, /dashboard
shows the tile with its chart and table under the strict CSP (no console errors), and the
page passes axe's WCAG A/AA check in both themes. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.app.web.api_client import owner_query
from tests.app.web.conftest import db_scalar
from tests.app.web.test_accessibility import AXE, blocking_violations
from tests.app.web.test_browser import ANSWER, ARTIFACTS, CHROMIUM, ask, log_in

QUESTION = "What was the revenue by channel?"


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_pin_an_answer_and_see_it_on_the_dashboard(web_server, offline, theme):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run .ci/install")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await owner_query(
        web_server.database_url,
        "DELETE FROM dashboards WHERE user_id = (SELECT id FROM app_users WHERE username = 'bob')",
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = await browser.new_context(
            viewport={"width": 1300, "height": 950}, color_scheme=theme
        )
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        try:
            await log_in(page, web_server, username="bob")
            await ask(page, QUESTION)
            await expect(page.locator(ANSWER).last).to_contain_text("revenue", timeout=30_000)
            pin = page.get_by_role("button", name="Pin to dashboard")
            await expect(pin).to_be_visible(timeout=10_000)
            await pin.click()
            await expect(page.locator(ANSWER).last).to_contain_text(
                "Pinned to your dashboard", timeout=10_000
            )
            tile = await db_scalar(
                web_server.database_url,
                "SELECT t.id FROM dashboard_tiles t JOIN dashboards d ON d.id = t.dashboard_id "
                "JOIN app_users u ON u.id = d.user_id WHERE u.username = 'bob' AND t.kind = 'metrics'",
            )
            assert tile is not None
            problems.clear()  # the chat's own console is not this test's subject
            await page.goto(f"{web_server.base_url}/dashboard")
            section = page.locator(f"#tile-{tile}")
            await expect(section.locator("h2")).to_have_text(QUESTION)
            await expect(section.locator("svg.tile-chart")).to_be_visible()
            await expect(section.locator("table")).to_contain_text("web")
            await page.screenshot(path=str(ARTIFACTS / f"dashboard-{theme}.png"), full_page=True)
            stamp = "SELECT refreshed_at FROM dashboard_tiles WHERE id = :t"
            before = await db_scalar(web_server.database_url, stamp, t=tile)
            await page.click(f"#refresh-{tile}")
            await page.wait_for_url(f"**/dashboard#tile-{tile}")
            assert await db_scalar(web_server.database_url, stamp, t=tile) > before
            assert problems == []  # nothing refused by the CSP, no script errors
            context_axe = await browser.new_context(color_scheme=theme, bypass_csp=True)
            await context_axe.add_cookies(await context.cookies())
            checked = await context_axe.new_page()
            await checked.goto(f"{web_server.base_url}/dashboard")
            found = await blocking_violations(checked, "dashboard", theme)
            assert found == [], "\n".join(found)
        finally:
            await browser.close()
