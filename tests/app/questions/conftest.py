"""A shop's values and calendar for the engine's pure tests (no database), and the seeded
demo shop of the agent's tests for its end-to-end ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.questions.lexicon import build_lexicon
from app.questions.understand import Context
from app.semantic.model import default_model
from app.semantic.periods import Calendar
from app.semantic.values import DimensionValue, ValuesIndex, country_names
from tests.app.agent.conftest import embeddings, make_agent, shop, tools

__all__ = ["embeddings", "make_agent", "shop", "tools"]

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday; noon in London
MODEL = default_model()
LEXICON = build_lexicon(MODEL)


def model_values(dimension: str) -> list[DimensionValue]:
    found = MODEL.dimensions[dimension].values
    return [DimensionValue(dimension, v, i.label, synonyms=i.synonyms) for v, i in found.items()]


def countries(dimension: str) -> list[DimensionValue]:
    values = []
    for code in ("DE", "GB", "US"):
        label, synonyms = country_names(code)
        values.append(DimensionValue(dimension, code, label, synonyms=synonyms))
    return values


VALUES = [
    *model_values("channel"),
    *model_values("status"),
    *model_values("segment"),
    *model_values("payment_method"),
    *countries("shipping_country"),
    *countries("customer_country"),
    DimensionValue("shipping_region", "Bavaria", "Bavaria", "DE"),
    DimensionValue("shipping_city", "Mobile", "Mobile", "Alabama"),
    DimensionValue("category", "tents", "Tents", "camping"),
    DimensionValue("category", "camping", "Camping", "outdoor-camping"),
    DimensionValue("category", "knives", "Knives", "kitchen"),
    DimensionValue("department", "outdoor-camping", "Outdoor & Camping"),
    DimensionValue("brand", "Ridge Gear", "Ridge Gear"),
    DimensionValue("brand", "Summit", "Summit"),
    DimensionValue("product", "OC-TTE-0001", "Ridge Gear Trail Tent"),
]
INDEX = ValuesIndex(VALUES)


@pytest.fixture
def context() -> Context:
    calendar = Calendar.at(NOW, "Europe/London")
    return Context(MODEL, LEXICON, INDEX, calendar)
