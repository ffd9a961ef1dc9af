"""What a model call cost, from the per-provider, per-million-token table in ``pricing.json``."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

PRICING_FILE = Path(__file__).with_name("pricing.json")
SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    input: Decimal
    cached_input: Decimal
    output: Decimal
    cache_write: Decimal | None = None  # input written to the prompt cache; None: as input


FREE = Price(Decimal(0), Decimal(0), Decimal(0))


def price(entry: dict[str, Any]) -> Price:
    write = entry.get("cache_write")
    return Price(
        input=Decimal(str(entry["input"])),
        cached_input=Decimal(str(entry["cached_input"])),
        output=Decimal(str(entry["output"])),
        cache_write=None if write is None else Decimal(str(write)),
    )


@functools.cache
def providers() -> dict[str, dict[str, Any]]:
    return dict(json.loads(PRICING_FILE.read_text())["providers"])


@functools.cache
def price_table() -> dict[str, Price]:
    """Every priced model of every provider, by name (names do not repeat across providers)."""
    return {
        name: price(entry)
        for provider in providers().values()
        for name, entry in provider.get("models", {}).items()
    }


def price_of(model: str | None, *, provider: str | None = None) -> Price | None:
    """The price of ``model`` as a provider reports it (``gpt-4.1-mini-2025-04-14``,
    ``openai:gpt-4.1-mini``); 0 for a free provider's models; None when the table does not
    know it."""
    if not model:
        return None
    prefix, _, rest = model.partition(":")
    if rest and prefix in providers():  # "openai:gpt-4.1-mini"; Ollama names have colons too
        provider, model = provider or prefix, rest
    if provider is not None and providers().get(provider, {}).get("free"):
        return FREE
    name = model.strip().lower()
    table = price_table()
    return table.get(name) or table.get(SNAPSHOT_SUFFIX.sub("", name))


def cost_usd(
    model: str | None,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    provider: str | None = None,
) -> Decimal | None:
    """Dollars for one call; cached (read or written) input tokens are part of
    ``input_tokens``. Unknown model: None."""
    found = price_of(model, provider=provider)
    if found is None:
        return None
    cached = min(cached_input_tokens, input_tokens)
    written = min(cache_write_tokens, input_tokens - cached)
    total = (
        (input_tokens - cached - written) * found.input
        + cached * found.cached_input
        + written * (found.input if found.cache_write is None else found.cache_write)
        + output_tokens * found.output
    )
    return (total / MILLION).quantize(Decimal("0.00000001"))
