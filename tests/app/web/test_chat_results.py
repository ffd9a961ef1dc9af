"""Results in the chat, in a real browser: each table once (the grid, not again as a table in
the text), figures in the shop's currency with separators in the text and the grid alike
(raw in the CSV), an automatic chart for a time series and a small breakdown, steps above
their answer (live and resumed), and follow-ups that never repeat the question asked.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import csv
import io
import re

import httpx
from playwright.async_api import expect

from app.figures import SYMBOLS
from tests.app.web.conftest import db_scalar as scalar
from tests.app.web.test_browser import (  # noqa: F401
    ANSWER,
    ARTIFACTS,
    answered,
    ask,
    log_in,
    page,
)

MONTHLY_SQL = (
    "SELECT date_trunc('month', placed_at) AS month, sum(total_amount) AS revenue, "
    "count(*) AS orders FROM orders GROUP BY 1 ORDER BY 1"
)
TEXT_TABLE = "table:not(.dataframe table)"  # a markdown table in the text, not the grid
REPEATED_TABLE = "| month | revenue | orders |\n|---|---|---|\n| 2026-01 | 1 | 2 |"


async def shop_symbol(web_server) -> str:
    currency = await scalar(
        web_server.database_url, "SELECT currency FROM tenants WHERE slug = 'web-shop'"
    )
    return SYMBOLS.get(currency, currency)


async def grid_column(tab, column: int) -> list[str]:
    cells = tab.locator(".dataframe tbody tr").locator(f"td:nth-child({column})")
    return [text.strip() for text in await cells.all_inner_texts()]


async def in_order(tab, first: str, second: str) -> bool:
    """Whether the first element matching ``first`` comes before the last matching ``second``."""
    return bool(
        await tab.evaluate(
            """([a, b]) => { const x = document.querySelector(a);
                 const ys = document.querySelectorAll(b); const y = ys[ys.length - 1];
                 return !!(x && y && (x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING)); }""",
            [first, second],
        )
    )


async def csv_text(tab, web_server) -> str:
    href = await tab.locator("a.inline-file").last.get_attribute("href")
    cookies = {c["name"]: c["value"] for c in await tab.context.cookies()}
    return httpx.get(
        href if href.startswith("http") else web_server.base_url + href, cookies=cookies
    ).text


async def test_monthly_revenue_offline_once_formatted_and_charted(page, offline):  # noqa: F811
    symbol = await shop_symbol(offline)
    await log_in(page, offline)
    await ask(page, "Monthly revenue for the last 12 months")
    answer = page.locator(ANSWER).last
    await expect(answer).to_contain_text("in the table below", timeout=20_000)
    await page.wait_for_selector(".dataframe", timeout=10_000)
    await page.wait_for_selector(".js-plotly-plot", timeout=10_000)  # a chart nobody asked for
    await expect(answer.locator(TEXT_TABLE)).to_have_count(0)  # the rows once: in the grid
    months, revenue = await grid_column(page, 1), await grid_column(page, 2)
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", month) for month in months), months
    money = rf"{re.escape(symbol)}\d{{1,3}}(,\d{{3}})*\.\d\d"
    assert revenue and all(re.fullmatch(money, value) for value in revenue), revenue
    rows = list(csv.reader(io.StringIO(await csv_text(page, offline))))
    assert rows[1][0][:4].isdigit() and float(rows[1][1]) >= 0  # raw values in the CSV
    await page.screenshot(path=str(ARTIFACTS / "chat-monthly-revenue.png"), full_page=True)


async def test_a_models_answer_keeps_its_words_loses_the_repeated_table(page, web_server):  # noqa: F811
    symbol = await shop_symbol(web_server)
    try:
        answer = await answered(
            page,
            web_server,
            "Revenue and orders per month",
            sql=MONTHLY_SQL,
            reply=f"Revenue grew every month.\n\n{REPEATED_TABLE}\n\nThat is all.",
            until="That is all.",
        )
        await page.wait_for_selector(".js-plotly-plot", timeout=10_000)  # the model drew none
        await expect(answer.locator(TEXT_TABLE)).to_have_count(0)
        await expect(answer).to_contain_text("Revenue grew every month.")
        revenue, orders = await grid_column(page, 2), await grid_column(page, 3)
        assert all(value.startswith(symbol) and "." in value for value in revenue), revenue
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", value) for value in orders), orders
        await page.screenshot(path=str(ARTIFACTS / "chat-model-table-once.png"), full_page=True)

        await page.reload()  # resumed: the chart's step is still above the answer
        item = page.locator("#thread-history li[id^=thread-]", has_text="Revenue and orders")
        await item.first.locator("a").click()
        await page.wait_for_url("**/thread/**")
        await expect(page.locator(ANSWER).last).to_contain_text("That is all.", timeout=20_000)
        await page.wait_for_selector("#step-make_chart", timeout=10_000)
        assert await in_order(page, "#step-make_chart", ANSWER)
    finally:
        web_server.use_model(None)


async def test_follow_ups_never_repeat_the_question(page, offline):  # noqa: F811
    verified = await scalar(
        offline.database_url, "SELECT question FROM verified_queries ORDER BY id LIMIT 1"
    )
    asked = re.sub(r"[?!.]+$", "", verified).lower()  # the same question, typed differently
    await log_in(page, offline)
    await ask(page, asked)
    await expect(page.locator(ANSWER).last).to_contain_text("question engine", timeout=20_000)
    await page.wait_for_timeout(500)
    labels = [
        label.strip()
        for label in await page.locator(f"{ANSWER.split()[0]} button").all_inner_texts()
    ]
    assert any(len(label) > 20 for label in labels), labels  # suggestions are there
    words = re.findall(r"[0-9a-z]+", verified.casefold())
    assert all(re.findall(r"[0-9a-z]+", label.casefold()) != words for label in labels), labels
    await page.screenshot(path=str(ARTIFACTS / "chat-follow-ups.png"))
