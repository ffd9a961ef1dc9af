"""What the engine writes from shop data renders as those characters: no link, image or HTML
in any kind of answer (the chat renders answers as markdown)."""

from __future__ import annotations

import markdown_it

from app.figures import Locale
from app.questions import replies

HOSTILE = "[Refund](https://evil.example) ![p](https://evil.example/p.png) <img src=x>"

GBP = Locale("GBP", "Europe/London")


def rendered(text: str) -> str:
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def assert_inert(text: str) -> None:
    html = rendered(text)
    assert "<a " not in html and "<img" not in html, html


def test_cells_headers_and_single_values_are_text():
    output = {"columns": ["title", "rating"], "rows": [[HOSTILE, 1], ["ok", 5]], "row_count": 2}
    assert_inert(replies.rows_text(output, GBP))
    one = {"columns": [HOSTILE], "rows": [[HOSTILE]], "row_count": 1}
    assert_inert(replies.rows_text(one, GBP))


def test_search_hits_bundles_and_verified_questions_are_text():
    hit = {"name": HOSTILE, "brand": HOSTILE, "sku": HOSTILE, "price": 3, "stock_quantity": 1}
    arguments = {"query": HOSTILE, "category": HOSTILE}
    assert_inert(replies.search_answer({"results": [hit]}, arguments, GBP))
    assert_inert(replies.bundles_answer({"rows": []}, {"product": HOSTILE}, GBP))
    assert_inert(replies.verified_answer({"rows": []}, HOSTILE, GBP))
