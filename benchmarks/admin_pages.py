"""How long each admin page takes in a real browser, as a first visit (empty cache) and again.

    python benchmarks/admin_pages.py            # 7 cold and 7 warm loads per page
    python benchmarks/admin_pages.py --quick    # 3 of each

A bichat server (uvicorn, Chainlit mounted) runs in this process on a scratch database with a
small demo shop and a few conversations; Chromium (Debian's, through Playwright) logs in as an
admin, then opens each page in a fresh browser context (cold: nothing cached) and once more
in the same context (warm). Per page: the server's answer time (TTFB), the time until the
page is complete (the load event; for usage, until the chart is drawn), the bytes fetched
and the number of requests. Prints a table and one JSON line of medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from web_scratch import offline_web_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from playwright.async_api import BrowserContext, async_playwright

from tests.app.web.conftest import PASSWORD
from tests.app.web.test_admin import write_conversation

PAGES = {
    "conversations": ("/admin/conversations", "#conversations"),
    "usage": ("/admin/usage", "#usage-chart svg, #usage-chart img, #usage-empty"),
    "verified": ("/admin/verified", "#library"),
}
TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  const all = performance.getEntriesByType('resource');
  return {ttfb: n.responseStart - n.startTime, load: n.loadEventEnd - n.startTime,
          bytes: n.transferSize + all.reduce((s, r) => s + r.transferSize, 0),
          requests: 1 + all.length}; }"""


async def logged_in(browser, base: str) -> BrowserContext:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/admin/login")
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url("**/admin/conversations")
    await page.close()
    return context


async def visit(context: BrowserContext, base: str, path: str, ready: str) -> dict[str, float]:
    page = await context.new_page()
    started = time.perf_counter()
    await page.goto(base + path)
    await page.wait_for_selector(ready, state="attached", timeout=60_000)
    done_ms = (time.perf_counter() - started) * 1000
    await page.wait_for_load_state("load")
    figures = await page.evaluate(TIMING)
    await page.close()
    return {"ready_ms": done_ms, **figures}


async def measure(base: str, runs: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for name, (path, ready) in PAGES.items():
            for run in range(runs + 1):  # the first run warms the server, not counted
                context = await logged_in(browser, base)
                cold = await visit(context, base, path, ready)
                warm = await visit(context, base, path, ready)
                await context.close()
                if run:
                    for kind, figures in (("cold", cold), ("warm", warm)):
                        for key, value in figures.items():
                            results.setdefault(f"{name}.{kind}", {}).setdefault(key, []).append(
                                value
                            )
        await browser.close()
    return results


async def main(quick: bool) -> None:
    runs = 3 if quick else 7
    async with offline_web_server() as (url, base):
        for index in range(5):
            await write_conversation(url, tenant="web-shop", user="ann", question=f"Q {index}")
        results = await measure(base, runs)
    medians = {
        page: {key: round(statistics.median(values), 1) for key, values in figures.items()}
        for page, figures in results.items()
    }
    print(f"admin pages in Chromium, median of {runs} loads each (cold: empty cache)")
    print(f"{'page':<22}{'TTFB ms':>10}{'ready ms':>10}{'load ms':>10}{'KB':>9}{'requests':>10}")
    for page, m in medians.items():
        print(
            f"{page:<22}{m['ttfb']:>10.0f}{m['ready_ms']:>10.0f}{m['load']:>10.0f}"
            f"{m['bytes'] / 1024:>9.0f}{m['requests']:>10.0f}"
        )
    print(json.dumps({"runs": runs, **medians}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 loads of each kind")
    asyncio.run(main(parser.parse_args().quick))
