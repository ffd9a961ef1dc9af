"""Cost from the price table: dated snapshots priced as their base model, unknown models NULL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.agent.pricing import cost_usd, price_of


def test_a_call_costs_input_cached_input_and_output_at_their_prices():
    cost = cost_usd(
        "gpt-4.1-mini", input_tokens=1_000_000, output_tokens=500_000, cached_input_tokens=200_000
    )
    assert cost == Decimal("0.32") + Decimal("0.02") + Decimal("0.80")


@pytest.mark.parametrize("name", ["gpt-4o-mini-2024-07-18", "openai:gpt-4o-mini", "GPT-4o-mini"])
def test_reported_names_find_their_price(name):
    assert price_of(name) == price_of("gpt-4o-mini") is not None


@pytest.mark.parametrize("name", ["llama3:70b", "scripted-model", "", None, "gpt-4o-mini-preview"])
def test_unknown_models_cost_null_never_zero(name):
    assert cost_usd(name, input_tokens=10, output_tokens=10) is None
