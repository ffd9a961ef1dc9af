"""A live turn's steps show between its question and its answer, in the browser: typed, and
asked by clicking a follow-up suggestion. Chainlit places a message under the hook's run
(``on_message``) but a ``cl.Step`` sent without a context manager at the top level, after the
question's whole block: every step of a live turn was drawn below its answer (on resume the
store rebuilds the run, so a reload looked right)."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.app.web.test_browser import ANSWER, ARTIFACTS, ask, log_in, page  # noqa: F401
from tests.app.web.test_chat_results import MONTHLY_SQL
from tests.scripted_model import Call, ScriptedChatModel


async def shown_in_order(tab) -> list[str]:
    """The chat's questions, steps and answers as the page shows them, top to bottom."""
    kinds = await tab.evaluate(
        """() => [...document.querySelectorAll('[data-step-type]')].map(e =>
             e.getAttribute('data-step-type'))"""
    )
    short = {"user_message": "question", "assistant_message": "answer", "tool": "step"}
    return [short.get(kind, kind) for kind in kinds]


async def test_live_steps_show_between_the_question_and_its_answer(page, web_server):  # noqa: F811
    web_server.use_model(
        ScriptedChatModel(
            script=[
                Call("run_sql", {"sql": MONTHLY_SQL}),
                "Revenue grew every month. First done.",  # then the automatic chart's step
                Call("run_sql", {"sql": MONTHLY_SQL}),
                "The follow-up, answered. Second done.",
            ]
        )
    )
    try:
        await log_in(page, web_server)
        await ask(page, "Revenue per month")
        await expect(page.locator(ANSWER).last).to_contain_text("First done.", timeout=20_000)
        await page.wait_for_selector(".js-plotly-plot", timeout=10_000)  # the turn's end
        await expect(page.locator(ANSWER).last).to_contain_text("First done.")
        assert await shown_in_order(page) == ["question", "step", "step", "answer"]

        suggestion = page.locator(".step button", has_text=re.compile(r"\?$")).first
        await suggestion.click()
        await expect(page.locator(ANSWER).last).to_contain_text("Second done.", timeout=20_000)
        await expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=10_000)
        await expect(page.locator(ANSWER).last).to_contain_text("Second done.")
        assert await shown_in_order(page) == ["question", "step", "step", "answer"] * 2
        await page.screenshot(path=str(ARTIFACTS / "chat-steps-above-answers.png"))
    finally:
        web_server.use_model(None)
