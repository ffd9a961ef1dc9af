"""A question as one line of lemmas that patterns can match, and which tokens each part of the
reading has claimed. ``text`` is the tokens' lemmas joined by spaces (numbers as digits,
amounts as ``$40``); a regular expression over it finds token ranges; a claimed token is
never read twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from app.questions.words import Token, tokenize


@dataclass(frozen=True)
class Found:
    """Tokens ``start``..``end`` (exclusive) matched by a pattern, with its groups."""

    start: int
    end: int
    groups: tuple[str | None, ...]
    text: str


def shown_number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def lemma_of(token: Token) -> str:
    if token.kind == "money" and token.value is not None:
        return f"${shown_number(token.value)}"
    if token.kind == "number" and token.value is not None:
        return shown_number(token.value)
    if token.is_word and token.value is not None:  # "five" -> 5
        return shown_number(token.value)
    return token.lemma


class Sentence:
    def __init__(self, question: str) -> None:
        self.question = question
        self.tokens = tokenize(question)
        self.claims: dict[int, str] = {}  # token index -> what claimed it
        pieces, self.starts, self.ends = [], [], []
        offset = 0
        for token in self.tokens:
            piece = lemma_of(token)
            self.starts.append(offset)
            self.ends.append(offset + len(piece))
            pieces.append(piece)
            offset += len(piece) + 1
        self.text = " ".join(pieces)

    # ----- finding --------------------------------------------------------------------------

    def find(self, pattern: str, *, claimed_ok: bool = False) -> Iterator[Found]:
        """Matches of ``pattern`` (whole tokens only) over unclaimed tokens (claimed ones are
        masked, so an optional part of a pattern never reaches into them)."""
        text = self.text if claimed_ok else self.masked()
        for match in re.finditer(rf"(?<![\w$%-])(?:{pattern})(?![\w%])", text):
            if match.end() == match.start():
                continue
            span = self.span(match.start(), match.end())
            if span is None:
                continue
            start, end = span
            if not claimed_ok and any(i in self.claims for i in range(start, end)):
                continue
            yield Found(start, end, match.groups(), self.text[match.start() : match.end()])

    def masked(self) -> str:
        if not self.claims:
            return self.text
        chars = list(self.text)
        for index in self.claims:
            for position in range(self.starts[index], self.ends[index]):
                chars[position] = "\x00"
        return "".join(chars)

    def first(self, pattern: str, *, claimed_ok: bool = False) -> Found | None:
        return next(self.find(pattern, claimed_ok=claimed_ok), None)

    def span(self, begin: int, finish: int) -> tuple[int, int] | None:
        """Token range exactly covering characters ``begin``..``finish`` of ``text``."""
        try:
            start = self.starts.index(begin)
            end = self.ends.index(finish) + 1
        except ValueError:
            return None
        return (start, end) if end > start else None

    # ----- claims ---------------------------------------------------------------------------

    def claim(self, start: int, end: int, tag: str) -> None:
        for index in range(start, end):
            self.claims.setdefault(index, tag)

    def claimed(self, index: int) -> bool:
        return index in self.claims

    def free_words(self) -> list[Token]:
        return [t for t in self.tokens if t.kind != "punct" and t.index not in self.claims]

    def raw(self, start: int, end: int) -> str:
        """The question's own text of tokens ``start``..``end``."""
        return self.question[self.tokens[start].start : self.tokens[end - 1].end]

    def words(self, start: int, end: int) -> list[Token]:
        return [t for t in self.tokens[start:end] if t.kind != "punct"]

    def runs(self) -> list[tuple[int, int]]:
        """Runs of unclaimed word tokens not broken by punctuation."""
        runs, begin = [], None
        for token in self.tokens:
            free = token.kind != "punct" and token.index not in self.claims
            if free and begin is None:
                begin = token.index
            elif not free and begin is not None:
                runs.append((begin, token.index))
                begin = None
        if begin is not None:
            runs.append((begin, len(self.tokens)))
        return runs
