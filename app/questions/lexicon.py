"""The engine's vocabulary of the business, generated from the semantic model: every metric,
dimension and time dimension by its name, label and synonyms, and the entities (orders,
customers...) as nouns. Phrases are kept case-folded and as lemmas (singular), so "Units
sold", "units" and "unit" find the same metric. Typos are matched with rapidfuzz (a lower
confidence); paraphrases with the local embedding model (lower still, only to suggest)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from sqlglot import exp

from app.questions.grammar import FUNCTION_WORDS
from app.questions.sentence import lemma_of
from app.questions.words import tokenize
from app.semantic.model import Metric, SemanticModel

MAX_WORDS = 6  # the longest phrase looked up
BUNDLE_WORDS = {
    "lift": "lift",
    "confidence": "confidence",
    "support": "support",
    "rule": "rule",
    "pair": "rule",
    "product pair": "rule",
}


@dataclass(frozen=True)
class Sense:
    """What a phrase may mean: a metric, a dimension, a time dimension or an entity noun."""

    kind: str  # metric | dimension | time | entity | bundle
    name: str
    fuzzy: bool = False


def lemma_text(phrase: str) -> str:
    return " ".join(lemma_of(t) for t in tokenize(phrase) if t.text not in "()")


def norm_text(phrase: str) -> str:
    return " ".join(t.norm for t in tokenize(phrase) if t.text not in "()")


def phrase_forms(name: str) -> set[str]:
    return {name.replace("_", " ").casefold(), name.casefold()}


@dataclass
class Lexicon:
    by_norm: dict[str, list[Sense]] = field(default_factory=dict)
    by_lemma: dict[str, list[Sense]] = field(default_factory=dict)
    entity_counts: dict[str, str] = field(default_factory=dict)  # entity -> metric counting it
    metric_entities: dict[str, str] = field(default_factory=dict)  # metric -> its entity
    descriptions: dict[str, str] = field(default_factory=dict)  # metric -> text to embed

    def add(self, phrase: str, sense: Sense) -> None:
        norm, lemma = norm_text(phrase), lemma_text(phrase)
        if not norm or norm in FUNCTION_WORDS or lemma in FUNCTION_WORDS:
            return
        for table, key in ((self.by_norm, norm), (self.by_lemma, lemma)):
            senses = table.setdefault(key, [])
            if sense not in senses:
                senses.append(sense)

    def lookup(self, norm: str, lemma: str) -> list[Sense]:
        """Senses of a phrase: as written first ("ratings" are reviews, not the average
        rating), then its lemma's senses of other kinds ("products": the dimension too)."""
        found = list(self.by_norm.get(norm) or [])
        kinds = {s.kind for s in found}
        found += [s for s in self.by_lemma.get(lemma) or [] if s.kind not in kinds]
        return found

    def phrases(self) -> list[str]:
        """Every phrase the lexicon knows (for the test that it holds no eval question)."""
        return sorted({*self.by_norm, *self.by_lemma})

    @functools.cached_property
    def single_words(self) -> list[str]:
        return sorted({k for k in self.by_lemma if " " not in k and len(k) >= 5})

    def fuzzy(self, word: str) -> list[Sense]:
        """Senses of the one lexicon word within a typo of ``word`` (one edit for words of 5
        to 7 letters, two from 8; none for shorter words, and none when two words tie)."""
        if len(word) < 5 or word in FUNCTION_WORDS:
            return []
        allowed = 1 if len(word) <= 7 else 2
        found = process.extract(
            word,
            self.single_words,
            scorer=DamerauLevenshtein.distance,
            score_cutoff=allowed,
            limit=3,
        )
        if not found or (len(found) > 1 and found[0][1] == found[1][1]):
            return []
        return [Sense(s.kind, s.name, fuzzy=True) for s in self.by_lemma[found[0][0]]]


def build_lexicon(model: SemanticModel) -> Lexicon:
    lexicon = Lexicon()
    for metric in model.public_metrics:
        for phrase in (*phrase_forms(metric.name), metric.label, *metric.synonyms):
            lexicon.add(phrase, Sense("metric", metric.name))
        lexicon.descriptions[metric.name] = describe(metric)
        entity = metric_entity(model, metric)
        if entity:
            lexicon.metric_entities[metric.name] = entity
    for dimension in model.dimensions.values():
        phrases = [*phrase_forms(dimension.name), dimension.label, *dimension.synonyms]
        if dimension.key_name:
            phrases += list(phrase_forms(dimension.key_name))
        for phrase in phrases:
            lexicon.add(phrase, Sense("dimension", dimension.name))
    for time in model.time_dimensions.values():
        for phrase in (time.label, *time.synonyms):
            lexicon.add(phrase, Sense("time", time.name))
    for name in model.entities:
        lexicon.add(name.replace("_", " "), Sense("entity", name))
    for word, measure in BUNDLE_WORDS.items():
        lexicon.add(word, Sense("bundle", measure))
    lexicon.entity_counts = entity_counts(model)
    return lexicon


def describe(metric: Metric) -> str:
    return f"{metric.label}: {metric.description} ({', '.join(metric.synonyms)})"


def metric_entity(model: SemanticModel, metric: Metric) -> str | None:
    entities = {p.entity for p in model.parts(metric)}
    return next(iter(entities)) if len(entities) == 1 else None


def entity_counts(model: SemanticModel) -> dict[str, str]:
    """For each entity, the public metric that counts all its rows (customers: sign-ups, the
    customer accounts; orders: orders of any status), if there is one."""
    found: dict[str, str] = {}
    for metric in model.public_metrics:
        if metric.derived or metric.filters or metric.per or metric.first_per:
            continue
        assert metric.measure is not None and metric.entity is not None
        tree = metric.measure.tree
        if not (isinstance(tree, exp.Count) and isinstance(tree.this, exp.Distinct)):
            continue
        keys = model.entities[metric.entity].table.primary_key.columns
        counted = tree.this.expressions[0]
        if isinstance(counted, exp.Column) and [c.name for c in keys] == [counted.name]:
            found.setdefault(metric.entity, metric.name)
    return found


def senses_of(senses: Iterable[Sense], kind: str) -> list[Sense]:
    return [s for s in senses if s.kind == kind]
