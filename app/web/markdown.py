"""Answers as the chat shows them, for the admin pages: markdown rendered to HTML that is safe
to put in a page whatever the data says.

markdown-it-py with raw HTML off (tags in the text come out as text), its link check
(``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links are left as plain text) and
two rules of ours: an image is never an ``<img>`` (a markdown image pointing at another server
would make the browser fetch it, telling that server who reads the transcript) but its alt
text and address as text; a link keeps its address visible and carries
``rel="noopener noreferrer nofollow"`` and its address shows after its words. Everything else markdown-it escapes itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup, escape

LINK_REL = "noopener noreferrer nofollow"


def image_as_text(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: Any, env: Any
) -> str:
    token = tokens[index]
    alt = "".join(child.content for child in token.children or []) or "image"
    address = str(token.attrGet("src") or "")
    return f'<span class="md-image">[image: {escape(alt)} · {escape(address)}]</span>'


def link_open(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: Any, env: Any
) -> str:
    token = tokens[index]
    token.attrSet("rel", LINK_REL)
    token.attrSet("referrerpolicy", "no-referrer")
    return renderer.renderToken(tokens, index, options, env)


def link_close(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: Any, env: Any
) -> str:
    """The address after the link's words, unless the words are the address."""
    start = max(i for i in range(index) if tokens[i].type == "link_open")
    address = str(tokens[start].attrGet("href") or "")
    words = "".join(t.content for t in tokens[start + 1 : index])
    shown = "" if words == address else f' <span class="md-href">({escape(address)})</span>'
    return "</a>" + shown


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", image_as_text)
    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    return md


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for a stored answer (markdown); empty for None."""
    if not text:
        return Markup("")
    return Markup(parser().render(text))  # noqa: S704  # markdown-it escapes; raw HTML is off
