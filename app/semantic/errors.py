"""Typed errors of the semantic layer: each names what was wrong and what is accepted."""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import BichatError, InvalidInput


class SemanticModelError(BichatError):
    """``prompts/semantic.yaml`` is inconsistent (a developer's error, found at load time)."""

    code = "invalid_semantic_model"


class InvalidQuery(InvalidInput):
    """A semantic query asks for something the model cannot answer as asked."""

    code = "invalid_query"


def closest_hint(names: Sequence[str]) -> str:
    """`` Did you mean a, b or c?`` (empty when there is nothing close)."""
    if not names:
        return ""
    quoted = [f"{n!r}" for n in names]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" Did you mean {listed}?"
