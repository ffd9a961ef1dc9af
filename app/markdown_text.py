"""Values from the shop's data put into markdown as text: whatever a cell, a name, a title or a
review says, it shows as those characters and never becomes markup.

The chat renders answers and step outputs as GitHub-flavoured markdown (react-markdown with
remark-gfm and remark-directive), so a review reading ``![x](https://evil.example/b.png)``
would make every reader's browser fetch that address, and ``[Refund](https://evil.example)``
would be a link. ``escape_markdown`` backslash-escapes every character that starts inline
markup (emphasis, code, links and images, raw HTML, entities, strikethrough, table cells,
directives), escapes what would start a block at the value's start (headings, quotes, lists),
puts everything on one line without leading or trailing blanks (no code block, no line break), and breaks the patterns GFM turns into links by itself
(``https://``, ``www.``, ``a@b.c``) with an invisible WORD JOINER. ``code_block`` fences text
(SQL) with more backticks than it contains. Anything that writes markdown from data
(the offline model, the no-model engine, the chat's step lines) goes through here.
"""

from __future__ import annotations

import re
from typing import Any

INLINE = re.compile(r"([\\`*_\[\]<>|~&$])")
DIRECTIVE = re.compile(r":(?=[A-Za-z])")  # remark-directive's :name
BLOCK_START = re.compile(r"^(\s*)([#>+=-])")
ORDERED_START = re.compile(r"^(\s*\d{1,9})([.)])")
LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
WORD_JOINER = "\u2060"  # invisible, and not the zero-width space Chainlit shows as a cursor
AUTOLINKS = re.compile(r"(?i)(https?)(?=:)|(www)(?=\.)|(@)")


def escape_markdown(value: Any) -> str:
    """``value`` as markdown text that renders as exactly its characters, on one line."""
    text = LINE_BREAKS.sub(" ", "" if value is None else str(value)).strip()
    text = INLINE.sub(r"\\\1", text)
    text = DIRECTIVE.sub(r"\\:", text)
    text = BLOCK_START.sub(r"\1\\\2", text)
    text = ORDERED_START.sub(r"\1\\\2", text)
    return AUTOLINKS.sub(lambda m: m.group(0) + WORD_JOINER, text)


def escape_lines(text: str) -> str:
    """Plain text of several lines (a step's outcome) as markdown, line by line."""
    return "\n".join(escape_markdown(line) for line in text.splitlines())


def code_block(text: str, language: str = "") -> str:
    """A fenced code block that ``text`` cannot close, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"
