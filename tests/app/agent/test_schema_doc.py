"""prompts/schema.yaml describes every column the reader can see, and nothing that is gone."""

from __future__ import annotations

import pytest

from app.agent.schema_doc import load_schema_doc, readable_columns, render_schema, undocumented
from app.semantic.model import default_model
from app.semantic.prompt_text import render_model
from db.models.business import CHANNELS, EVENT_TYPES, ORDER_STATUSES, PAYMENT_METHODS, SEGMENTS


async def test_every_readable_column_has_a_description(engine):
    columns = await readable_columns(engine)
    assert set(columns) >= {"orders", "products", "customers", "order_items"}
    assert undocumented(load_schema_doc(), columns) == []


async def test_the_check_fails_for_an_undescribed_column(engine):
    columns = await readable_columns(engine)
    columns["orders"].append(("gift_note", "text"))
    assert undocumented(load_schema_doc(), columns) == ["orders.gift_note"]


async def test_no_description_names_a_column_the_reader_cannot_see(engine):
    columns = {t: {c for c, _ in cs} for t, cs in (await readable_columns(engine)).items()}
    doc = load_schema_doc()
    stale = [
        f"{t}.{c}"
        for t, table in doc.tables.items()
        for c in table.columns
        if c not in columns.get(t, set())
    ]
    assert stale == []


async def test_pii_columns_are_neither_readable_nor_in_the_prompt(engine):
    columns = await readable_columns(engine)
    assert {c for c, _ in columns["customers"]}.isdisjoint({"email", "phone", "date_of_birth"})
    text = render_schema(load_schema_doc(), columns)
    assert "date_of_birth" not in text and "  phone" not in text


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("orders", "status", ORDER_STATUSES),
        ("orders", "channel", CHANNELS),
        ("orders", "payment_method", PAYMENT_METHODS),
        ("customers", "segment", SEGMENTS),
        ("product_events", "event_type", EVENT_TYPES),
    ],
)
def test_allowed_values_in_descriptions_match_the_schema(table, column, values):
    description = load_schema_doc().tables[table].columns[column]
    assert f"One of {', '.join(values)}" in description


def test_every_metric_of_the_issue_is_defined():
    """Metric definitions now come from the semantic model (prompts/semantic.yaml)."""
    model = default_model()
    text = render_model(model)
    for name in (
        "revenue",
        "average_order_value",
        "gross_margin",
        "repeat_purchase_rate",
        "conversion_rate",
    ):
        assert f"- {name} (" in text
        assert len(model.metrics[name].description) > 40
