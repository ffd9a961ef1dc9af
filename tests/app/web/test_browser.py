"""The chat in a real browser (Playwright driving Debian's Chromium): log in, click a starter,
see the streamed answer, the SQL step, a table and a chart; reload and find the conversation;
resume it and ask a follow-up that uses the earlier answer; thumbs up stored; a product named
like an HTML tag renders inert. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.app.web.conftest import PASSWORD, XSS_NAME, db_scalar
from tests.scripted_model import Call, ScriptedChatModel

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("BICHAT_TEST_ARTIFACTS", "test-artifacts")) / "browser"
ANSWER = '[data-step-type="assistant_message"] .message-content'


@pytest.fixture
async def page(web_server):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run .ci/install (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = await browser.new_context(viewport={"width": 1300, "height": 950})
        tab = await context.new_page()
        tab.dialogs = []
        tab.on(
            "dialog",
            lambda dialog: (
                tab.dialogs.append(dialog.message),
                asyncio.ensure_future(dialog.dismiss()),
            ),
        )
        yield tab
        await browser.close()


async def log_in(page, web_server, username="ann"):
    await page.goto(f"{web_server.base_url}/chat/")
    await page.wait_for_url("**/login")
    await page.fill("#email", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("[id^=starter-]", timeout=20_000)


async def ask(page, question: str) -> None:
    """Type and send a question once the chat is connected (the button is enabled then)."""
    await page.fill("#chat-input", question)
    submit = page.locator("#chat-submit")
    await expect(submit).to_be_enabled(timeout=20_000)
    await submit.click()
    await expect(page.locator('[data-step-type="user_message"]').last).to_contain_text(question)


async def answered(page, web_server, question: str, *, sql: str, reply: str, until: str):
    """Log in and ask ``question`` of a model that runs ``sql``, then writes ``reply``; the
    answer's locator once it shows ``until``."""
    web_server.use_model(ScriptedChatModel(script=[Call("run_sql", {"sql": sql}), reply]))
    await log_in(page, web_server)
    await ask(page, question)
    answer = page.locator(ANSWER).last
    await expect(answer).to_contain_text(until, timeout=20_000)
    return answer


async def test_a_conversation_in_the_browser(page, web_server):
    web_server.use_model(
        ScriptedChatModel(
            script=[
                Call(
                    "run_sql",
                    {"sql": "SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 2 DESC"},
                ),
                Call(
                    "make_chart",
                    {"kind": "bar", "x": "status", "y": ["n"], "title": "Orders by status"},
                ),
                "Most orders are delivered; the table and chart show every status.",
                lambda messages: f"You first asked: {messages[1].content}",
            ]
        )
    )
    try:
        await log_in(page, web_server)
        starter = page.locator("[id^=starter-]").first
        question = (await starter.inner_text()).strip()
        await starter.click()
        await expect(page.locator(ANSWER).last).to_contain_text(
            "Most orders are delivered", timeout=20_000
        )
        await page.wait_for_selector("#step-run_sql")
        await page.wait_for_selector(".dataframe", timeout=10_000)
        await page.wait_for_selector(".js-plotly-plot", timeout=10_000)
        await page.wait_for_selector("a.inline-file")
        await page.click("#step-run_sql")
        await expect(page.locator("[data-step-type=tool]").first).to_contain_text("GROUP BY 1")
        await page.screenshot(path=str(ARTIFACTS / "answer.png"))

        await page.locator(".positive-feedback-off").last.click()
        dialog = page.locator("[role=dialog]")
        await dialog.locator("textarea").fill("spot on")
        await dialog.locator("button").filter(has_text="Submit").click()
        await page.wait_for_selector(".positive-feedback-on", timeout=10_000)
        stored = await db_scalar(
            web_server.database_url,
            "SELECT feedback_comment FROM chat_messages WHERE feedback = 1 ORDER BY id DESC LIMIT 1",
        )
        assert stored == "spot on"

        await page.reload()
        item = page.locator("#thread-history li[id^=thread-]", has_text=question[:20]).first
        await expect(item).to_be_visible(timeout=15_000)
        await item.locator("a").click()
        await page.wait_for_url("**/thread/**")
        await expect(page.locator(ANSWER).first).to_contain_text("Most orders are delivered")
        await page.wait_for_selector(".dataframe", timeout=10_000)  # the table is back
        await ask(page, "What did I ask first?")
        await expect(page.locator(ANSWER).last).to_contain_text(
            f"You first asked: {question}", timeout=20_000
        )
        await page.screenshot(path=str(ARTIFACTS / "resumed.png"))
    finally:
        web_server.use_model(None)


async def test_a_product_named_like_html_renders_inert(page, web_server):
    try:
        message = await answered(
            page,
            web_server,
            "Name the first products",
            sql="SELECT name FROM products ORDER BY id LIMIT 3",
            reply=f"The first product is {XSS_NAME} indeed.",
            until="indeed",
        )
        await page.wait_for_selector(".dataframe", timeout=10_000)
        await page.wait_for_timeout(1000)
        assert XSS_NAME in await message.inner_text()  # shown as text
        assert await message.locator("img").count() == 0
        assert await page.locator(".dataframe img").count() == 0
        assert XSS_NAME in await page.locator(".dataframe").first.inner_text()
        assert page.dialogs == []  # nothing ran
        await page.screenshot(path=str(ARTIFACTS / "html-inert.png"))
    finally:
        web_server.use_model(None)


async def test_offline_mode_is_visible(page, offline):
    await log_in(page, offline)
    await expect(page.locator("#mode-picker-trigger-model")).to_contain_text("Offline")
    await page.screenshot(path=str(ARTIFACTS / "offline.png"))
