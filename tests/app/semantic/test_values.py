"""The values index: what it holds per shop, look-ups, closest values, and rebuilding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.semantic.query import SemanticQuery
from app.semantic.values import UnknownValue, load_values, refresh_values
from app.tools.query_metrics import run_query_metrics
from db.reads import read_value


async def distinct(engine, sql: str, tenant) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text(sql), {"t": tenant.id})
        return {row[0] for row in rows}


async def test_the_index_holds_every_value_of_the_shop(shops, layer, engine):
    tenant = shops.london
    index = await layer.index(tenant)
    expected = {
        "channel": "SELECT DISTINCT channel FROM orders WHERE tenant_id = :t",
        "shipping_city": "SELECT DISTINCT shipping_city FROM orders WHERE tenant_id = :t",
        "customer_region": "SELECT DISTINCT region FROM customers WHERE tenant_id = :t",
        "brand": "SELECT DISTINCT brand FROM products WHERE tenant_id = :t",
        "product": "SELECT sku FROM products WHERE tenant_id = :t",
        "category": "SELECT slug FROM categories WHERE tenant_id = :t",
        "department": "SELECT slug FROM categories WHERE tenant_id = :t AND parent_id IS NULL",
        "customer": "SELECT customer_ref FROM customers WHERE tenant_id = :t",
    }
    for dimension, sql in expected.items():
        found = {v.value for v in index.of(dimension)}
        assert found == await distinct(engine, sql, tenant) - {None}, dimension
    # known values with no rows yet are there too: a filter on them gives zero, not an error
    assert {v.value for v in index.of("payment_method")} >= {"card", "gift_card"}


async def test_values_carry_labels_parents_and_synonyms(shops, layer):
    index = await layer.index(shops.london)
    germany = index.get("shipping_country", "DE")
    assert germany is not None and germany.label == "Germany"
    assert "Federal Republic of Germany" in germany.synonyms
    assert index.get("customer_country", "GB").label == "United Kingdom"
    tents = index.get("category", "tents")
    assert tents.label == "Tents" and tents.parent == "camping"
    assert index.get("category", "camping").parent == "outdoor-camping"
    assert index.get("department", "outdoor-camping").parent is None
    city = index.of("shipping_city")[0]
    assert index.get("shipping_region", city.parent) is not None  # city -> region -> country
    assert index.get("segment", "vip").label == "VIP"
    assert set(index.descendants("category", "camping")) >= {"camping", "tents"}


async def test_lookups_recognise_values_by_any_name(shops, layer):
    index = await layer.index(shops.london)
    assert {(v.dimension, v.value) for v in index.lookup("  GERMANY ")} == {
        ("shipping_country", "DE"),
        ("customer_country", "DE"),
    }
    assert {v.dimension for v in index.lookup("uk")} == {"shipping_country", "customer_country"}
    assert [(v.dimension, v.value) for v in index.lookup("vip customers")] == [("segment", "vip")]
    assert [v.value for v in index.lookup("in-store")] == ["store"]
    product = index.of("product")[0]
    assert index.match("product", product.label) == [product]
    assert index.match("product", product.value.lower()) == [product]
    assert index.lookup("no such thing at all") == []


async def test_closest_values_rank_what_looks_alike(shops, layer):
    index = await layer.index(shops.london)
    assert index.closest("category", "sleeping bag")[0].value == "sleeping-bags"
    assert index.closest("shipping_country", "Germny")[0].value == "DE"


async def test_tenants_see_only_their_own_values(shops, layer, engine):
    for tenant in (shops.london, shops.kiritimati):
        index = await layer.index(tenant)
        for dimension, table in (("customer", "customers"), ("product", "products")):
            sql = f"SELECT count(*) FROM {table} WHERE tenant_id = :t"
            count = await read_value(engine, sql, {"t": tenant.id})
            assert len(index.of(dimension)) == count


async def rebrand(engine, tenant_id, brand: str, *, which: str) -> None:
    """Give the shop's first (``min``) or last (``max``) product the brand ``brand``."""
    sql = f"UPDATE products SET brand = :b WHERE tenant_id = :t AND id = (SELECT {which}(id) "
    async with engine.begin() as connection:
        await connection.execute(
            text(sql + "FROM products WHERE tenant_id = :t)"), {"b": brand, "t": tenant_id}
        )


async def test_a_rebuild_is_seen_by_every_process_and_replaces_the_old_values(shops, layer, engine):
    tenant = shops.kiritimati
    before = await layer.index(tenant)
    await rebrand(engine, tenant.id, "Zephyr Labs", which="min")
    count = await refresh_values(engine, layer.model, tenant.id)  # as `bichat db ...` does
    after = await layer.index(tenant)
    assert after is not before and after.refreshed_at > before.refreshed_at
    assert after.get("brand", "Zephyr Labs") is not None
    assert count == len((await load_values(engine, tenant.id)).values)


async def test_an_unknown_value_rebuilds_a_stale_index_once(shops, layer, engine, executor):
    tenant = shops.kiritimati
    await layer.index(tenant)
    await rebrand(engine, tenant.id, "Quokka Works", which="max")
    query = SemanticQuery.parse(
        {
            "metrics": ["stock_value"],
            "filters": [{"dimension": "brand", "values": ["quokka works"]}],
        }
    )
    with pytest.raises(UnknownValue):  # just rebuilt: the value really is unknown to it
        await layer.plan(tenant, query)
    async with engine.begin() as connection:  # an index from an hour ago
        await connection.execute(
            text("UPDATE dimension_value_refreshes SET refreshed_at = :at WHERE tenant_id = :t"),
            {"t": tenant.id, "at": datetime.now(UTC) - timedelta(hours=1)},
        )
    result = await run_query_metrics(layer, executor, tenant, query)
    assert "brand: Quokka Works" in result.interpretation


async def test_values_named_in_a_sentence_are_found_longest_first(shops, layer):
    index = await layer.index(shops.london)
    brand = max(index.of("brand"), key=lambda v: len(v.label.split()))
    sentence = f"Revenue of {brand.label} sleeping bags in Germany, only VIP customers?"
    found = {m.words: {(v.dimension, v.value) for v in m.values} for m in index.mentions(sentence)}
    assert found[brand.label] == {("brand", brand.value)}
    assert ("category", "sleeping-bags") in found["sleeping bags"]
    assert found["Germany"] == {("shipping_country", "DE"), ("customer_country", "DE")}
    assert found["VIP customers"] == {("segment", "vip")}
    assert index.mentions(sentence)[0].words == brand.label  # in sentence order


def test_a_value_without_a_label_is_labelled_by_itself():
    from types import SimpleNamespace

    from app.semantic.model import default_model
    from app.semantic.values import enrich

    model = default_model()
    nameless = SimpleNamespace(value="CUST-000001", label=None, parent=None, occurrences=3)
    (value,) = enrich(model, model.dimensions["customer"], [nameless])
    assert value.label == "CUST-000001" and value.occurrences == 3
