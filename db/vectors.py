"""Vectors as pgvector takes them, and the name of the model that made them (stored with every
vector, so that vectors of different models are never compared)."""

from __future__ import annotations

from typing import Any


def vector_literal(vector: list[float]) -> str:
    """pgvector's text form of a vector, for ``CAST(... AS vector)`` parameters."""
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def model_name(embeddings: Any) -> str:
    """The name an embedder's vectors are tagged with (its ``model_name``, else its class)."""
    return str(getattr(embeddings, "model_name", type(embeddings).__name__))
