"""The semantic model stays true to the schema: every column it reads exists and the reader
role may read it; joins are the schema's foreign keys; a broken model fails to load with a
message naming the entry; one YAML entry adds a metric everywhere."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from app.agent.schema_doc import readable_columns
from app.cli.main import app
from app.semantic import model as model_module
from app.semantic.errors import SemanticModelError
from app.semantic.model import MODEL_FILE, default_model, load_model
from app.semantic.prompt_text import render_model
from app.semantic.query import SemanticQuery
from app.semantic.service import SemanticLayer
from app.tools.query_metrics import build_input_model, run_query_metrics
from tests.app.semantic.conftest import CLOCK

FOREIGN_KEYS_SQL = """
SELECT child.relname AS child, a.attname AS column, parent.relname AS parent
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
WHERE k.contype = 'f' AND child.relname = ANY(:tables) AND parent.relname = ANY(:tables)
"""


async def test_every_column_the_model_reads_is_readable_by_the_reader(engine):
    readable = {(t, c) for t, cs in (await readable_columns(engine)).items() for c, _ in cs}
    columns = default_model().referenced_columns()
    assert len(columns) > 30
    assert sorted(columns - readable) == []


async def test_the_check_fails_for_a_column_the_reader_cannot_read(engine):
    readable = {(t, c) for t, cs in (await readable_columns(engine)).items() for c, _ in cs}
    assert ("customers", "email") not in readable  # what a model naming it would trip over


async def test_joins_are_the_schemas_foreign_keys(engine):
    model = default_model()
    tables = list(model.entities)
    async with engine.connect() as connection:
        rows = await connection.execute(text(FOREIGN_KEYS_SQL), {"tables": tables})
        keys = {(r.child, r.column, r.parent) for r in rows}
    derived = {(j.child, j.column, j.parent) for js in model.graph.joins.values() for j in js}
    trees = {(j.child, j.column, j.parent) for j in model.graph.trees.values()}
    assert derived | trees == keys


def edited_model(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(MODEL_FILE.read_text())
    edit(data)
    path = tmp_path / "semantic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["metrics"]["line_revenue"].update(measure="sum(order_items.gift_wrap)"),
            "order_items has no column 'gift_wrap'",
        ),
        (
            lambda d: d["metrics"]["line_revenue"].update(measure="sum(line_total)"),
            "must name columns as entity.column",
        ),
        (
            lambda d: d["dimensions"]["customer"].update(columns=["customers.email"]),
            "customers.email is private",
        ),
        (
            lambda d: d["metrics"]["average_order_value"].update(formula="revenue / ordres"),
            "the formula names unknown 'ordres'",
        ),
        (
            lambda d: d["metrics"]["order_revenue"].update(time="shipped"),
            "unknown time 'shipped'",
        ),
        (
            lambda d: d["metrics"]["units"].update(expand_via="reviews"),
            "expand_via needs a count(DISTINCT ...) measure",
        ),
        (lambda d: d["metrics"]["units"].update(format="euros"), "format must be one of"),
        (
            lambda d: d["metrics"]["revenue"].update(variants=["order_revenue", "gift_wrap"]),
            "variant 'gift_wrap' is not a metric without variants",
        ),
        (
            lambda d: d["metrics"]["revenue"].update(variants=["order_revenue", "units"]),
            "variant units is not money",
        ),
        (
            lambda d: d["metrics"]["revenue"].update(variants=["order_revenue", "rating_points"]),
            "variant rating_points is not money",
        ),
    ],
)
def test_a_broken_model_names_the_entry(tmp_path, edit, message):
    with pytest.raises(SemanticModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_model(edited_model(tmp_path, edit))


SHIPPING = {
    "label": "Shipping charged",
    "description": "What customers paid for shipping on paid, shipped or delivered orders.",
    "synonyms": ["shipping fees", "delivery charges"],
    "entity": "orders",
    "measure": "sum(orders.shipping_amount)",
    "filters": ["orders.status IN ('paid', 'shipped', 'delivered')"],
    "filter_label": "paid, shipped or delivered orders",
    "time": "placed",
    "format": "money",
    "additive": True,
}


async def test_a_new_metric_is_one_yaml_entry(
    tmp_path, monkeypatch, shops, engine, executor, database_url
):
    path = edited_model(tmp_path, lambda d: d["metrics"].update(shipping_charged=SHIPPING))
    model = load_model(path)
    # the compiler
    layer = SemanticLayer(engine=engine, model=model, clock=CLOCK)
    query = SemanticQuery.parse(
        {"metrics": ["shipping_charged"], "by": ["channel"], "period": "last-month"}
    )
    result = await run_query_metrics(layer, executor, shops.london, query)
    hand = await executor.run(
        tenant_id=shops.london.id,
        sql="SELECT o.channel, sum(o.shipping_amount) AS s FROM orders o WHERE o.status IN "
        "('paid', 'shipped', 'delivered') AND (o.placed_at AT TIME ZONE 'Europe/London') >= "
        "'2026-10-01' AND (o.placed_at AT TIME ZONE 'Europe/London') < '2026-11-01' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert result.run.rows == hand.rows
    assert result.interpretation.startswith("Shipping charged by channel · 1–31 Oct 2026")
    # the tool's schema
    schema = build_input_model(model).model_json_schema()
    assert "shipping_charged" in json.dumps(schema)
    assert "shipping_charged" not in json.dumps(
        build_input_model(default_model()).model_json_schema()
    )
    # the prompt
    assert "- shipping_charged (money) = sum(orders.shipping_amount) where R." in render_model(
        model
    )
    # bichat metrics
    monkeypatch.setattr(model_module, "MODEL_FILE", path)
    default_model.cache_clear()
    try:
        listed = await asyncio.to_thread(  # the CLI runs its own event loop
            CliRunner().invoke,
            app,
            ["metrics", "--tenant", shops.london.slug, "--json"],
            env={"BICHAT_DATABASE_URL": database_url, "BICHAT_DATA_DIR": str(tmp_path)},
        )
    finally:
        default_model.cache_clear()
    assert listed.exit_code == 0, listed.output
    names = [m["name"] for m in json.loads(listed.stdout)["metrics"]]
    assert "shipping_charged" in names and "revenue" in names
