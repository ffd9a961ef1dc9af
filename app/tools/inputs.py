"""Argument types for the tools' input models: optional values whose JSON schema is just their
type (no ``anyOf`` with null, no ``default: null``), so the model reads fewer prompt tokens for
the same meaning."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

# Use with ``Field(None, description=...)``.
OptionalText = Annotated[str | None, WithJsonSchema({"type": "string"})]
OptionalNumber = Annotated[float | None, WithJsonSchema({"type": "number"})]
OptionalInteger = Annotated[int | None, WithJsonSchema({"type": "integer"})]
OptionalFlag = Annotated[bool | None, WithJsonSchema({"type": "boolean"})]


def optional(kind: Any, schema: dict[str, Any], description: str, **limits: Any) -> Any:
    """An optional argument whose schema is just its type (no ``anyOf`` with null, no
    ``default: null``: fewer prompt tokens for the same meaning)."""
    shown = {**schema, "description": description}
    return (
        Annotated[kind | None, WithJsonSchema(shown)],
        Field(default=None, **limits),
    )
