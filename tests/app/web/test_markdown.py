"""Stored answers rendered for the admin pages: markdown becomes HTML, data never does."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.web.markdown import LINK_REL, render_markdown


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_markdown_becomes_html():
    html = render_markdown(
        "Revenue **rose** by *4%*.\n\n- web\n- app\n\n| month | revenue |\n|---|---|\n| May | 1,200 |\n\n"
        "```sql\nSELECT 1\n```"
    )
    names = [tag for tag, _ in tags_of(html)]
    for tag in ("strong", "em", "ul", "li", "table", "th", "td", "pre", "code"):
        assert tag in names, (tag, html)


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<iframe src=https://evil.example></iframe>",
        '<a href="https://evil.example" onclick="alert(1)">x</a>',
        "<style>body{display:none}</style>",
        '<div onmouseover="alert(1)">hover</div>',
    ],
)
def test_raw_html_in_data_is_text(text):
    html = render_markdown(f"before {text} after")
    assert tags_of(html) == [("p", {})]
    assert "&lt;" in html


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:x", "data:text/html,<b>x</b>"]
)
def test_dangerous_links_are_not_links(link):
    html = render_markdown(f"[click]({link})")
    assert not [tag for tag, _ in tags_of(html) if tag == "a"], html


def test_images_are_never_fetched_but_named():
    html = render_markdown('![chart"><b>x](https://tracker.example/pixel.png?who=admin)')
    assert [tag for tag, _ in tags_of(html)] == ["p", "span"]
    assert "tracker.example/pixel.png" in html  # shown as text, so an admin sees it
    assert "<b>" not in html


def test_links_show_where_they_go_and_are_not_followed_automatically():
    html = render_markdown(
        "see [the report](https://example.com/r?a=1&b=2) or <https://example.org>"
    )
    links = [attrs for tag, attrs in tags_of(html) if tag == "a"]
    assert [link["href"] for link in links] == [
        "https://example.com/r?a=1&b=2",
        "https://example.org",
    ]
    assert all(link["rel"] == LINK_REL for link in links)
    assert "(https://example.com/r?a=1&amp;b=2)" in html  # the address next to its words


def test_nothing_for_no_answer():
    assert render_markdown(None) == "" and render_markdown("") == ""
