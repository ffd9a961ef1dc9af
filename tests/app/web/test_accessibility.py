"""An automated WCAG 2.1 A/AA check (axe-core, from npm into node_modules/ by .ci/install,
injected by Playwright) of the chat's login page, the chat with an answer, and every admin
page, in the light and the dark theme: no serious or critical violation.

Chainlit's theme is its own setting (its toggle keeps it in localStorage); the admin pages
follow the browser's (prefers-color-scheme, set by Playwright's color_scheme)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.app.web.conftest import PASSWORD
from tests.app.web.test_admin import write_conversation
from tests.app.web.test_browser import ANSWER, ARTIFACTS, CHROMIUM, ask, log_in
from tests.app.web.test_voice import speech_to_text  # noqa: F401 (a fixture)
from tests.scripted_model import Call, ScriptedChatModel

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
# fades and slides end before colours are measured (a spinner's endless animation is left)
FINITE_ANIMATIONS_ENDED = """async () => {
  const finite = document.getAnimations().filter(
    (a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity);
  await Promise.all(finite.map((a) => a.finished.catch(() => null)));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""


@pytest.fixture(params=["light", "dark"])
async def themed(request, web_server):
    """A page in one theme; CSP is bypassed only so that axe can be injected."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run .ci/install (npm install puts it in node_modules/)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    theme = request.param
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = await browser.new_context(
            viewport={"width": 1300, "height": 950}, color_scheme=theme, bypass_csp=True
        )
        await context.add_init_script(f"localStorage.setItem('vite-ui-theme', '{theme}')")
        yield theme, await context.new_page()
        await browser.close()


async def blocking_violations(page: Page, name: str, theme: str) -> list[str]:
    """axe's serious and critical WCAG violations on the page as it is now (and a screenshot)."""
    await page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-{theme}.png"), full_page=True)
    await page.evaluate(FINITE_ANIMATIONS_ENDED)
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    return [
        f"{name} ({theme}): {v['id']} [{v['impact']}] {v['help']}: "
        + json.dumps([node["target"] for node in v["nodes"]][:5])
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


async def test_the_chat_meets_wcag_aa(themed, web_server):
    theme, page = themed
    found: list[str] = []
    await page.goto(f"{web_server.base_url}/chat/")
    await page.wait_for_url("**/login")
    await expect(page.locator("#email")).to_be_visible()
    found += await blocking_violations(page, "chat-login", theme)
    web_server.use_model(
        ScriptedChatModel(
            script=[
                Call("run_sql", {"sql": "SELECT status, count(*) AS n FROM orders GROUP BY 1"}),
                "Most orders are **delivered**; the table shows every status.",
            ]
        )
    )
    try:
        await log_in(page, web_server)
        # the starters are disabled (dimmed: exempt from contrast) until the socket connects
        await expect(page.locator("[id^='starter-']").first).to_be_enabled(timeout=20_000)
        found += await blocking_violations(page, "chat-start", theme)
        await ask(page, "How many orders per status?")
        await expect(page.locator(ANSWER).last).to_contain_text("Most orders", timeout=20_000)
        await page.wait_for_selector(".dataframe", timeout=10_000)
        await page.click("#step-run_sql")
        found += await blocking_violations(page, "chat-answer", theme)
    finally:
        web_server.use_model(None)
    assert found == [], "\n".join(found)


async def test_the_chat_with_voice_on_meets_wcag_aa(themed, web_server, speech_to_text):  # noqa: F811
    """With speech to text, Chainlit adds its microphone button (an icon, no name of its own)."""
    theme, page = themed
    await log_in(page, web_server)
    await expect(page.locator("[id^='starter-']").first).to_be_enabled(timeout=20_000)
    await expect(page.locator("#chat-input")).to_be_visible()
    found = await blocking_violations(page, "chat-voice", theme)
    assert found == [], "\n".join(found)


async def test_the_admin_pages_meet_wcag_aa(themed, web_server):
    theme, page = themed
    conversation = await write_conversation(
        web_server.database_url,
        tenant="web-shop",
        user="ann",
        question=f"Accessibility ({theme}): orders by status",
        thumbs=1,
        answer="Most orders are **delivered**.\n\n| status | orders |\n|---|---|\n| delivered | 250 |",
    )
    found: list[str] = []
    base = web_server.base_url
    await page.goto(f"{base}/admin/login")
    found += await blocking_violations(page, "admin-login", theme)
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/conversations")
    pages = {
        "admin-conversations": "/admin/conversations",
        "admin-transcript": f"/admin/conversations/{conversation.session_id}",
        "admin-usage": "/admin/usage",
        "admin-usage-empty": "/admin/usage?since=2001-01-01&until=2001-01-30",
        "admin-verified": "/admin/verified",
        "admin-queries": "/admin/queries",
        "admin-verified-form": f"/admin/verified/new?message={conversation.answer_id}",
    }
    for name, path in pages.items():
        await page.goto(base + path)
        found += await blocking_violations(page, name, theme)
    await page.click("#check")  # the form with its dry-run result
    await expect(page.locator("#preview")).to_be_visible()
    found += await blocking_violations(page, "admin-verified-checked", theme)
    assert found == [], "\n".join(found)
