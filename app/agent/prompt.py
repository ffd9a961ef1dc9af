"""The system prompt of a turn: ``prompts/system.md`` filled with the shop's context, the
schema description, the metric definitions (generated from the semantic model) and the
verified examples closest to the question."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from app.agent.schema_doc import (
    PROMPTS_DIR,
    load_schema_doc,
    readable_columns,
    render_notes,
    render_schema,
)
from app.semantic.model import SemanticModel, default_model
from app.semantic.prompt_text import render_model
from app.store.verified import Match
from db.tenants import TenantRecord

SYSTEM_TEMPLATE = PROMPTS_DIR / "system.md"


@dataclass(frozen=True)
class PromptParts:
    """What does not change between turns: schema text and metrics (built once per process)."""

    schema: str
    metrics: str
    notes: str


async def build_prompt_parts(
    engine: AsyncEngine, semantic: SemanticModel | None = None
) -> PromptParts:
    """The schema text from the reader's columns; the metric text from the semantic model."""
    doc = load_schema_doc()
    columns = await readable_columns(engine)
    return PromptParts(
        schema=render_schema(doc, columns),
        metrics=render_model(semantic or default_model()),
        notes=render_notes(doc),
    )


def render_examples(examples: Sequence[Match]) -> str:
    if not examples:
        return "(none)"
    return "\n\n".join(f"Q: {e.question}\n```sql\n{e.sql}\n```" for e in examples)


def system_prompt(
    *,
    parts: PromptParts,
    tenant: TenantRecord,
    examples: Sequence[Match],
    now: datetime,
    template_path: Path = SYSTEM_TEMPLATE,
) -> str:
    """The filled template. ``$``-placeholders leave SQL and JSON braces alone."""
    today = now.astimezone(ZoneInfo(tenant.timezone)).strftime("%A %Y-%m-%d")
    template = string.Template(template_path.read_text())
    return template.substitute(
        shop_name=tenant.name,
        currency=tenant.currency,
        timezone=tenant.timezone,
        today=today,
        notes=parts.notes,
        schema=parts.schema,
        metrics=parts.metrics,
        examples=render_examples(examples),
    )
