"""The question engine is built from the semantic model, the shop's values and a grammar of
English, never from the eval questions: no golden question (of any question file) appears
in the code, the prompts or the engine's lexicon, and the grammar holds no long piece of one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.evals.cases import load_cases
from app.questions.lexicon import build_lexicon
from app.semantic.model import default_model
from tests.evals.conftest import EVALS_DIR

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    t
    for path in sorted(EVALS_DIR.glob("questions*.yaml"))
    for c in load_cases(path=path)
    for t in c.turns
]
# the verified examples (prompts/examples.yaml) are checked apart: no shared question or SQL
SOURCES = [
    *ROOT.glob("app/**/*.py"),
    *(p for p in ROOT.glob("prompts/*") if p.name != "examples.yaml"),
    ROOT / "chainlit.md",
]
WINDOW = 6  # words: a run this long shared with a question is a piece of it


def plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9$%]+", text.casefold()))


def windows(text: str) -> set[str]:
    words = plain(text).split()
    return {" ".join(words[i : i + WINDOW]) for i in range(len(words) - WINDOW + 1)}


@pytest.fixture(scope="module")
def corpus() -> str:
    return "\n".join(plain(path.read_text()) for path in SOURCES if path.is_file())


def test_there_are_questions_to_check():
    assert len(QUESTIONS) > 100


@pytest.mark.parametrize("question", [q for q in QUESTIONS if len(plain(q).split()) >= 3])
def test_no_question_is_in_the_code_or_the_prompts(question, corpus):
    """(Questions of one or two words, "Why?", are words any code holds.)"""
    assert plain(question) not in corpus


def test_the_lexicon_holds_no_question_nor_a_piece_of_one():
    phrases = {plain(p) for p in build_lexicon(default_model()).phrases()}
    assert not phrases & {plain(q) for q in QUESTIONS}
    pieces = set().union(*(windows(q) for q in QUESTIONS))
    assert not [p for p in phrases if any(w in p for w in pieces)]


def test_the_engines_grammar_holds_no_piece_of_a_question():
    grammar = "\n".join(
        plain(path.read_text()) for path in sorted((ROOT / "app" / "questions").glob("*.py"))
    )
    pieces = set().union(*(windows(q) for q in QUESTIONS))
    assert [p for p in pieces if p in grammar] == []


def test_the_check_finds_a_planted_question(corpus):
    """The check is not vacuous: a question pasted into code is found."""
    planted = plain(f"x = {QUESTIONS[0]!r}")
    assert plain(QUESTIONS[0]) in planted and plain(QUESTIONS[0]) not in corpus
