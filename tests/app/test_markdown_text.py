"""Data put into markdown shows as its own characters: rendered by a CommonMark + GFM tables
parser (markdown-it-py), an escaped value is one paragraph (or one table cell) of exactly
its text, with no link, image, emphasis, code, heading, list, quote or HTML; and GFM's
autolink-literal patterns (as remark-gfm, the chat's renderer, finds them) match nothing.
The chat's own renderer is exercised in the browser (tests/app/web/test_hostile_data.py)."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from app.markdown_text import WORD_JOINER, code_block, escape_lines, escape_markdown

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# remark-gfm's literal autolinks (mdast-util-gfm-autolink-literal 2.0.0)
GFM_URL = re.compile(r"(https?:\/\/|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.I)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")
ATTACKS = [
    "![x](http://127.0.0.1:9/beacon.png)",
    "[Claim your refund](http://evil.example/refund)",
    "[a][r]\n\n[r]: http://evil.example/ref",
    "<http://evil.example/auto> and <me@evil.example>",
    "visit https://evil.example/x or www.evil.example today, mail me@evil.example",
    '<img src="http://evil.example/raw.png"> <script>alert(1)</script>',
    "**bold** _it_ `code` ~~gone~~ ==mark==",
    "# heading",
    "- item\n+ item\n1. item\n2) item",
    "> quote",
    "---",
    "| a | b |\n|---|---|\n| c | d |",
    "&lt;b&gt; &amp; &#x3C;",
    ":badge[x]{href=http://evil.example} :::note",
    "line one\n# heading on line two\n![x](http://evil.example/2.png)",
    "trailing backslash \\",
    "    indented like code",
    "$x^2$ and \\(y\\)",
    "[^note] and footnote\n[^note]: http://evil.example",
]
BLOCKED = ("<a ", "<img", "<em", "<strong", "<code", "<h", "<li", "<blockquote", "<table", "<s>")


def shown(markup: str) -> str:
    """What a reader sees: the text of the HTML, joiners dropped, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup)).replace(WORD_JOINER, "")
    return " ".join(text.split())


def same_text(value: str) -> str:
    return " ".join(value.split())


def assert_inert(value: str, rendered: str) -> None:
    assert not any(tag in rendered for tag in BLOCKED), rendered
    assert shown(rendered) == same_text(value)


def test_attacks_render_as_their_own_text():
    for value in ATTACKS:
        rendered = PARSER.render(escape_markdown(value))
        assert rendered.count("<p>") == 1, (value, rendered)
        assert_inert(value, rendered)


def test_gfm_autolink_literals_find_nothing():
    """remark-gfm looks for them in the parsed text (escapes resolved, joiners kept)."""
    for value in ATTACKS:
        rendered = PARSER.render(escape_markdown(value))
        text = html.unescape(re.sub(r"<[^>]+>", " ", rendered))
        assert not GFM_URL.search(text) and not GFM_EMAIL.search(text), text


def test_a_value_in_a_table_cell_stays_one_cell():
    for value in ATTACKS:
        table = f"| name | n |\n|---|---|\n| {escape_markdown(value)} | 1 |"
        rendered = PARSER.render(table)
        cells = re.findall(r"<td>(.*?)</td>", rendered, re.S)
        assert len(cells) == 2 and shown(cells[1]) == "1", (value, rendered)
        assert_inert(value, cells[0])


def test_lines_are_escaped_one_by_one():
    text = "3 row(s) in 4 ms\n![x](http://evil.example/a.png) in Berlin"
    rendered = PARSER.render(escape_lines(text))
    assert "<img" not in rendered and "<a " not in rendered
    assert shown(rendered) == same_text(text)


def test_a_code_block_cannot_be_closed_by_its_text():
    sql = "SELECT '```\n![x](http://evil.example/b.png)\n```' AS trick"
    rendered = PARSER.render(code_block(sql, "sql") + "\n\nafter")
    assert rendered.count("<pre>") == 1 and "<img" not in rendered
    assert html.unescape(re.search(r"<code[^>]*>(.*?)</code>", rendered, re.S)[1]) == sql + "\n"


@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])))
def test_any_text_renders_as_itself(value):
    rendered = PARSER.render(escape_markdown(value))
    assert_inert(value, rendered)
