"""A question as tokens: words (case-folded, singular, possessive marked), numbers ("5",
"five", "1,000", "0.5", "$40", "40%") and the punctuation that bounds clauses and
parentheticals. Nothing here knows the shop or the semantic model."""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "dozen": 12,
}
CURRENCY = "$€£¥"
TOKEN = re.compile(
    r"""
    (?P<money>[$€£¥]\s?\d[\d,]*(?:\.\d+)?(?:\s?[kK]\b)?|\d[\d,]*(?:\.\d+)?\s?[$€£¥])
    |(?P<code>[A-Za-z]{2,}(?:-[A-Za-z0-9]+)*-\d+[A-Za-z0-9-]*)     # SKUs, customer refs
    |(?P<date>\d{4}-\d{2}(?:-\d{2})?|\d{1,2}/\d{1,2}/\d{2,4})
    |(?P<number>\d[\d,]*(?:\.\d+)?%?|\.\d+%?)
    |(?P<word>[^\W\d_](?:[\w&]|['\u2019][a-z]{1,2}\b|\.(?=[a-z]\.))*)
    |(?P<punct>[?!.,;:()\[\]"\u201c\u201d'\u2018\u2019/+*=<>&%-])
    """,
    re.VERBOSE,
)
IRREGULAR_SINGULARS = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "analyses": "analysis",
    "indices": "index",
    "criteria": "criterion",
    "skus": "sku",
    "kpis": "kpi",
}
KEEP_S = ("ss", "us", "is", "news", "series", "sales", "status", "stats", "analytics")


def singular(word: str) -> str:
    """A simple English singular (``categories`` -> ``category``, ``boxes`` -> ``box``)."""
    if word in IRREGULAR_SINGULARS:
        return IRREGULAR_SINGULARS[word]
    if len(word) <= 3 or word.endswith(KEEP_S) or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    return word[:-1]


@dataclass
class Token:
    """One token of a question. ``norm`` is case-folded; ``lemma`` its singular without a
    possessive; ``value`` a number's value; ``upper`` a word capitalised in the middle of a
    sentence (a name, likely)."""

    text: str
    kind: str  # word | number | money | percent | date | code | punct
    index: int
    norm: str
    lemma: str
    start: int = 0  # characters in the question
    end: int = 0
    value: float | None = None
    possessive: bool = False
    upper: bool = False
    in_parens: bool = False

    @property
    def is_word(self) -> bool:
        return self.kind == "word"

    @property
    def is_number(self) -> bool:
        return self.value is not None


def number_of(text: str) -> float | None:
    cleaned = text.replace(",", "").strip().rstrip("%")
    try:
        return float(cleaned)
    except ValueError:
        return None


def money_of(text: str) -> float | None:
    cleaned = text.strip(CURRENCY + " ").replace(",", "")
    factor = 1000.0 if cleaned.lower().endswith("k") else 1.0
    value = number_of(cleaned.rstrip("kK ").strip(CURRENCY + " "))
    return None if value is None else value * factor


def tokenize(question: str) -> list[Token]:
    """The question's tokens, in order; hyphens between words split them ("best-selling")."""
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", question.replace("\u2019", "'"))
    tokens: list[Token] = []
    depth = 0
    for match in TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        raw = match.group(0)
        if kind == "punct":
            depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(raw, 0)
            depth = max(depth, 0)
        token = make_token(raw, kind, len(tokens), depth > 0 and raw not in "()[]")
        token.start, token.end = match.start(), match.end()
        tokens.append(token)
    mark_names(tokens)
    return tokens


def make_token(raw: str, kind: str, index: int, in_parens: bool) -> Token:
    norm = raw.casefold()
    if kind == "money":
        return Token(raw, "money", index, norm, norm, value=money_of(raw), in_parens=in_parens)
    if kind == "number":
        value = number_of(raw)
        kind = "percent" if raw.endswith("%") else "number"
        return Token(raw, kind, index, norm, norm, value=value, in_parens=in_parens)
    if kind != "word":
        return Token(raw, kind, index, norm, norm, in_parens=in_parens)
    possessive = norm.endswith(("'s", "s'")) and len(norm) > 3
    base = norm[:-2] if norm.endswith("'s") else norm[:-1] if norm.endswith("s'") else norm
    value = float(NUMBER_WORDS[base]) if base in NUMBER_WORDS else None
    return Token(
        raw,
        "word",
        index,
        norm,
        singular(base),
        value=value,
        possessive=possessive,
        in_parens=in_parens,
    )


def mark_names(tokens: list[Token]) -> None:
    """Capitalised words that do not start a sentence (nor follow a colon or a quote) look
    like names: a brand, a city, a company."""
    start = True
    for token in tokens:
        if token.kind == "punct":
            start = start or token.text in '.?!:;"“”(' or token.text == "'"
            continue
        if token.is_word and not start and token.text[:1].isupper() and token.norm != "i":
            token.upper = True
        start = False


def words_of(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.kind != "punct"]
