"""Time from send to the first streamed token and to the final message, in a real browser.

    python benchmarks/ui.py            # 30 questions
    python benchmarks/ui.py --quick    # 10 questions

A bichat server (uvicorn, Chainlit mounted) runs in this process on a scratch database with a
small demo shop; the agent uses a scripted model (one run_sql call, then a streamed answer),
so the figures are ours: Chainlit, socket.io, the agent, the SQL tool, the store, the browser.
Chromium (Debian's, through Playwright) types each question and watches the DOM.
Goal: first token within 300 ms (p50).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

from web_scratch import offline_web_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from playwright.async_api import async_playwright

from tests.app.web.conftest import PASSWORD
from tests.scripted_model import Call, ScriptedChatModel

WATCH = """(needle) => new Promise(resolve => {
  const t0 = performance.now(); let first = null;
  const texts = () => [...document.querySelectorAll('[data-step-type=assistant_message] .message-content')]
      .map(e => e.innerText);
  const seen = texts().length;
  const obs = new MutationObserver(() => {
    const now = texts();
    if (first === null && now.length > seen && now[now.length - 1].length > 0) first = performance.now() - t0;
    if (now.some(t => t.includes(needle))) { obs.disconnect(); resolve([first, performance.now() - t0]); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
})"""


def script(turns: int) -> list:
    steps: list = []
    for index in range(turns + 2):
        steps += [
            Call("run_sql", {"sql": "SELECT channel, count(*) AS n FROM orders GROUP BY 1"}),
            f"Web leads the channels, answer number {index} done.",
        ]
    return steps


async def measure(base: str, turns: int) -> tuple[list[float], list[float]]:
    firsts, finals = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page()
        await page.goto(f"{base}/chat/")
        await page.fill("#email", "ann")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#chat-input", timeout=30_000)
        for index in range(turns + 2):  # two warm-up turns
            await page.evaluate(
                f"() => {{ window.__t = ({WATCH})({json.dumps(f'number {index} done')}); }}"
            )
            await page.fill("#chat-input", f"Which channel sells most? ({index})")
            # the button is enabled once the socket is connected; Enter before that is lost
            await page.locator("#chat-submit:not([disabled])").wait_for(timeout=20_000)
            await page.press("#chat-input", "Enter")
            first, final = await page.evaluate("window.__t")
            if index >= 2:
                firsts.append(first)
                finals.append(final)
        await browser.close()
    return firsts, finals


async def main(quick: bool) -> None:
    from app.web.state import get_state

    turns = 10 if quick else 30
    async with offline_web_server() as (_url, base):
        get_state().runtime.agent.chat_model = ScriptedChatModel(script=script(turns))
        firsts, finals = await measure(base, turns)
    figures = {
        "turns": turns,
        "first_token_p50_ms": statistics.median(firsts),
        "first_token_p95_ms": sorted(firsts)[int(0.95 * (len(firsts) - 1))],
        "final_p50_ms": statistics.median(finals),
        "final_p95_ms": sorted(finals)[int(0.95 * (len(finals) - 1))],
    }
    print(
        f"browser, scripted model, {turns} questions: first token p50 "
        f"{figures['first_token_p50_ms']:.0f} ms (p95 {figures['first_token_p95_ms']:.0f}), final "
        f"message p50 {figures['final_p50_ms']:.0f} ms (p95 {figures['final_p95_ms']:.0f}); "
        "goal: first token <= 300 ms"
    )
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 questions")
    asyncio.run(main(parser.parse_args().quick))
