"""What a model call cost, from the per-million-token price table in ``pricing.json``."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

PRICING_FILE = Path(__file__).with_name("pricing.json")
DATED_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    input: Decimal
    cached_input: Decimal
    output: Decimal


@functools.cache
def price_table() -> dict[str, Price]:
    models = json.loads(PRICING_FILE.read_text())["models"]
    return {
        name: Price(*(Decimal(str(p[k])) for k in ("input", "cached_input", "output")))
        for name, p in models.items()
    }


def price_of(model: str | None) -> Price | None:
    """The price of ``model`` as a provider reports it (``gpt-4.1-mini-2025-04-14``,
    ``openai:gpt-4.1-mini``); None when the table does not know it."""
    if not model:
        return None
    name = model.split(":", 1)[-1].strip().lower()
    table = price_table()
    return table.get(name) or table.get(DATED_SUFFIX.sub("", name))


def cost_usd(
    model: str | None, *, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
) -> Decimal | None:
    """Dollars for one call; cached input tokens are part of ``input_tokens``. Unknown: None."""
    price = price_of(model)
    if price is None:
        return None
    cached = min(cached_input_tokens, input_tokens)
    total = (
        (input_tokens - cached) * price.input
        + cached * price.cached_input
        + output_tokens * price.output
    )
    return (total / MILLION).quantize(Decimal("0.00000001"))
