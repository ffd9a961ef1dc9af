"""The demo shop: deterministic, internally consistent, realistic enough to ask questions of."""

from __future__ import annotations

from datetime import date

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import AlreadyExists
from db import migrate
from db.demo.generator import generate_shop
from db.engine import create_engine
from db.models import BUSINESS_TABLES
from db.seed import SeedReport, seed_tenant
from tests.conftest import settings_for

END = date(2026, 11, 22)
ORDERS = 20_000  # the default size: the rules below are about the shop people will meet


@pytest_asyncio.fixture(scope="module")
async def shop(engine: AsyncEngine, settings) -> SeedReport:
    return await seed_tenant(engine, settings, slug="demo", seed=1, orders=ORDERS, end=END)


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as connection:
        return await connection.scalar(text(sql), params)


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(r) for r in (await connection.execute(text(sql), params)).all()]


TENANT = "(SELECT id FROM tenants WHERE slug = 'demo')"


# ----- determinism ----------------------------------------------------------------------------

CHECKSUM_EXCLUDED = {"tenant_id", "computed_at"}


async def table_checksums(engine: AsyncEngine, slug: str) -> dict[str, str]:
    """md5 of every business table's rows for one tenant (ids included, tenant id excluded)."""
    sums = {}
    async with engine.connect() as connection:
        for table in BUSINESS_TABLES:
            if table in ("tenants", "search_logs", "product_embeddings"):
                continue
            columns = [
                c
                for c in (
                    await connection.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                            "'public' AND table_name = :t ORDER BY ordinal_position"
                        ),
                        {"t": table},
                    )
                ).scalars()
                if c not in CHECKSUM_EXCLUDED
            ]
            row = ", ".join(columns)
            sums[table] = await connection.scalar(
                text(
                    f"SELECT md5(string_agg(({row})::text, '|' ORDER BY ({row})::text)) FROM {table} "
                    "WHERE tenant_id = (SELECT id FROM tenants WHERE slug = :s)"
                ),
                {"s": slug},
            )
    return sums


async def seeded_database(make_database, tmp_path, *, seed: int) -> dict[str, str]:
    url = await make_database()
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        await seed_tenant(
            engine, settings_for(url, tmp_path), slug="same", seed=seed, orders=3000, end=END
        )
        return await table_checksums(engine, "same")
    finally:
        await engine.dispose()


async def test_same_seed_gives_byte_identical_tables(make_database, tmp_path):
    first = await seeded_database(make_database, tmp_path, seed=42)
    second = await seeded_database(make_database, tmp_path, seed=42)
    assert first == second
    assert all(first.values()) and len(first) == 8


async def test_a_different_seed_gives_different_tables(make_database, tmp_path):
    assert await seeded_database(make_database, tmp_path, seed=42) != await seeded_database(
        make_database, tmp_path, seed=43
    )


def test_two_seeds_are_visibly_different_shops():
    a = generate_shop(seed=1, orders=2000, end=END)
    b = generate_shop(seed=2, orders=2000, end=END)
    assert a.name != b.name
    names_a = {r[3] for r in a.tables["products"].rows}
    names_b = {r[3] for r in b.tables["products"].rows}
    assert len(names_a & names_b) / len(names_a) < 0.05
    brands_a = {r[5] for r in a.tables["products"].rows}
    assert brands_a != {r[5] for r in b.tables["products"].rows}
    countries_a = {r[9] for r in a.tables["customers"].rows}
    assert countries_a != {r[9] for r in b.tables["customers"].rows}


# ----- catalogue ------------------------------------------------------------------------------


async def test_category_tree_is_three_levels_with_25_leaves(engine, shop):
    depth = await scalar(
        engine,
        f"""
        WITH RECURSIVE tree AS (
          SELECT id, 1 AS depth FROM categories WHERE tenant_id = {TENANT} AND parent_id IS NULL
          UNION ALL SELECT c.id, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id)
        SELECT max(depth) FROM tree""",
    )
    leaves = await scalar(
        engine,
        f"""
        SELECT count(*) FROM categories c WHERE c.tenant_id = {TENANT}
        AND NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)""",
    )
    assert depth >= 3 and leaves >= 25


async def test_catalogue_is_large_varied_and_priced_sensibly(engine, shop):
    products = await scalar(engine, f"SELECT count(*) FROM products WHERE tenant_id = {TENANT}")
    assert products >= 600
    out_of_stock, inactive, bad_margin, no_specs = (
        await rows(
            engine,
            f"""
        SELECT count(*) FILTER (WHERE stock_quantity = 0), count(*) FILTER (WHERE NOT is_active),
               count(*) FILTER (WHERE cost >= price), count(*) FILTER (WHERE specifications = '{{}}')
        FROM products WHERE tenant_id = {TENANT}""",
        )
    )[0]
    assert out_of_stock > 10 and inactive > 5 and bad_margin == 0 and no_specs == 0
    tents, socks = (
        await rows(
            engine,
            f"""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.price) FILTER (WHERE c.slug = 'tents'),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY p.price) FILTER (WHERE c.slug = 'socks')
        FROM products p JOIN categories c ON c.id = p.category_id WHERE p.tenant_id = {TENANT}""",
        )
    )[0]
    assert tents > 4 * socks


async def test_descriptions_do_not_read_like_one_template(engine, shop):
    openings, sentences, total = (
        await rows(
            engine,
            f"""
        SELECT count(DISTINCT split_part(description, ' ', 1) || ' ' || split_part(description, ' ', 2)),
               count(DISTINCT s), count(DISTINCT description)
        FROM products, regexp_split_to_table(description, '(?<=[.?]) ') AS s
        WHERE tenant_id = {TENANT}""",
        )
    )[0]
    assert total >= 600  # every description is different
    assert openings >= 30  # many ways of starting
    assert sentences >= 1500  # and of going on


# ----- customers and orders -------------------------------------------------------------------


async def test_customers_span_segments_and_countries_with_pareto_spend(engine, shop):
    segments = await scalar(
        engine, f"SELECT count(DISTINCT segment) FROM customers WHERE tenant_id = {TENANT}"
    )
    countries = await scalar(
        engine, f"SELECT count(DISTINCT country) FROM customers WHERE tenant_id = {TENANT}"
    )
    top_share = await scalar(
        engine,
        f"""
        WITH spend AS (SELECT customer_id, sum(total_amount) AS s FROM orders
                       WHERE tenant_id = {TENANT} AND customer_id IS NOT NULL GROUP BY 1),
        ranked AS (SELECT s, ntile(5) OVER (ORDER BY s DESC) AS q FROM spend)
        SELECT sum(s) FILTER (WHERE q = 1) / sum(s) FROM ranked""",
    )
    assert segments == 3 and countries >= 3
    assert top_share > 0.5  # the top fifth of customers bring most of the money


async def test_orders_have_seasonality_weekday_pattern_and_growth(engine, shop):
    peak, rest = (
        await rows(
            engine,
            f"""
        SELECT count(*) FILTER (WHERE extract(month FROM placed_at) IN (11, 12)) / 61.0 * 365,
               count(*) FILTER (WHERE extract(month FROM placed_at) NOT IN (11, 12)) / 304.0 * 365
        FROM orders WHERE tenant_id = {TENANT} AND placed_at >= '2024-01-01' AND placed_at < '2025-01-01'""",
        )
    )[0]
    assert float(peak) > 1.3 * float(rest)
    weekdays = [
        r[0]
        for r in await rows(
            engine,
            f"""
        SELECT count(*) FROM orders WHERE tenant_id = {TENANT} GROUP BY extract(isodow FROM placed_at)""",
        )
    ]
    assert max(weekdays) > 1.15 * min(weekdays)
    first, last = (
        await rows(
            engine,
            f"""
        SELECT count(*) FILTER (WHERE placed_at < '2024-11-22'), count(*) FILTER (WHERE placed_at >= '2025-11-22')
        FROM orders WHERE tenant_id = {TENANT}""",
        )
    )[0]
    assert last > 1.5 * first


async def test_order_mixes_guests_cancellations_refunds_and_discounts(engine, shop):
    (channels, payments, cancelled, refunded, guests, coupons, item_discounts) = (
        await rows(
            engine,
            f"""
        SELECT count(DISTINCT channel), count(DISTINCT payment_method),
               count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'refunded'),
               count(*) FILTER (WHERE customer_id IS NULL), count(*) FILTER (WHERE discount_amount > 0),
               (SELECT count(*) FROM order_items WHERE tenant_id = {TENANT} AND discount_amount > 0)
        FROM orders WHERE tenant_id = {TENANT}""",
        )
    )[0]
    assert channels == 4 and payments == 5
    assert 0.02 * ORDERS < cancelled < 0.08 * ORDERS and 0.01 * ORDERS < refunded < 0.06 * ORDERS
    assert 0.04 * ORDERS < guests < 0.12 * ORDERS
    assert coupons > 0.05 * ORDERS and item_discounts > 0.01 * ORDERS


async def test_money_adds_up_and_dates_are_ordered(engine, shop):
    bad_totals, bad_subtotals, bad_lines, bad_dates, bad_states = (
        await rows(
            engine,
            f"""
        SELECT
          count(*) FILTER (WHERE total_amount <> subtotal - discount_amount + shipping_amount + tax_amount),
          count(*) FILTER (WHERE subtotal <> (SELECT coalesce(sum(line_total), 0) FROM order_items i WHERE i.order_id = o.id)),
          (SELECT count(*) FROM order_items WHERE tenant_id = {TENANT}
             AND line_total <> quantity * unit_price - discount_amount),
          count(*) FILTER (WHERE shipped_at < placed_at OR delivered_at < shipped_at OR placed_at > now()),
          count(*) FILTER (WHERE (status IN ('delivered', 'refunded')) <> (delivered_at IS NOT NULL)
                             OR (status IN ('pending', 'paid', 'cancelled') AND shipped_at IS NOT NULL))
        FROM orders o WHERE tenant_id = {TENANT}""",
        )
    )[0]
    assert (bad_totals, bad_subtotals, bad_lines, bad_dates, bad_states) == (0, 0, 0, 0, 0)


async def test_customers_sign_up_before_their_first_order(engine, shop):
    assert (
        await scalar(
            engine,
            f"""
        SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id
        WHERE o.tenant_id = {TENANT} AND c.created_at > o.placed_at""",
        )
        == 0
    )


# ----- reviews, events, bundles -----------------------------------------------------------------

POSITIVE = r"(best|worth|flawless|perfect|brilliant|great|happy|recommended|premium|nice)"
NEGATIVE = (
    r"(disappoint|broke|returned|waste|useless|damaged|refund|not |fell apart|let me down|stopped)"
)


async def test_review_text_matches_rating(engine, shop):
    by_rating = dict(
        (r[0], r[1:])
        for r in await rows(
            engine,
            f"""
        SELECT rating,
               avg((lower(title || ' ' || body) ~ '{POSITIVE}')::int),
               avg((lower(title || ' ' || body) ~ '{NEGATIVE}')::int)
        FROM reviews WHERE tenant_id = {TENANT} GROUP BY rating""",
        )
    )
    assert set(by_rating) == {1, 2, 3, 4, 5}
    assert by_rating[5][0] > 0.6 and by_rating[5][1] < 0.15
    assert by_rating[1][1] > 0.6 and by_rating[1][0] < 0.15
    late = await scalar(
        engine,
        f"""
        SELECT count(*) FROM reviews r JOIN orders o ON o.id = r.order_id
        WHERE r.tenant_id = {TENANT} AND (o.delivered_at IS NULL OR r.created_at < o.delivered_at)""",
    )
    assert late == 0


async def test_event_funnel_narrows_and_purchases_match_orders(engine, shop):
    funnel = dict(
        await rows(
            engine,
            f"""
        SELECT event_type, count(*) FROM product_events WHERE tenant_id = {TENANT} GROUP BY 1""",
        )
    )
    assert funnel["view"] > 3 * funnel["add_to_cart"] > 3 * funnel["purchase"] > 0
    unmatched = await scalar(
        engine,
        f"""
        SELECT count(*) FROM product_events e WHERE e.tenant_id = {TENANT} AND e.event_type = 'purchase'
        AND NOT EXISTS (SELECT 1 FROM orders o JOIN order_items i ON i.order_id = o.id
                        WHERE o.tenant_id = e.tenant_id AND o.placed_at = e.occurred_at
                        AND i.product_id = e.product_id AND o.customer_id IS NOT DISTINCT FROM e.customer_id
                        AND o.status <> 'cancelled')""",
    )
    assert unmatched == 0


async def test_planted_bundles_rank_among_the_top_rules(engine, shop):
    ranked = await rows(
        engine,
        f"""
        SELECT a.sku, b.sku FROM bundle_rules r
        JOIN products a ON a.id = r.antecedent_product_id JOIN products b ON b.id = r.consequent_product_id
        WHERE r.tenant_id = {TENANT} ORDER BY r.lift DESC""",
    )
    planted = [tuple(pair) for pair in shop.planted_bundles]
    assert len(planted) >= 6
    top = set(ranked[: 2 * len(planted)])  # each planted pair shows up in both directions
    assert set(planted) <= top


# ----- loading ---------------------------------------------------------------------------------


async def test_seeding_a_tenant_with_data_needs_replace(engine, settings, shop):
    with pytest.raises(AlreadyExists, match="--replace"):
        await seed_tenant(engine, settings, slug="demo", seed=2, orders=100, end=END)
    assert await scalar(engine, f"SELECT count(*) FROM orders WHERE tenant_id = {TENANT}") == ORDERS


async def test_replace_swaps_the_data_and_ids_never_collide(engine, settings, shop):
    await seed_tenant(engine, settings, slug="other-shop", seed=5, orders=500, end=END)
    report = await seed_tenant(
        engine, settings, slug="other-shop", seed=6, orders=300, end=END, replace=True
    )
    assert report.rows["orders"] == 300
    other = "(SELECT id FROM tenants WHERE slug = 'other-shop')"
    assert await scalar(engine, f"SELECT count(*) FROM orders WHERE tenant_id = {other}") == 300
    async with engine.begin() as connection:  # ordinary inserts still get fresh ids
        new_id = await connection.scalar(
            text(
                f"INSERT INTO categories (tenant_id, name, slug) VALUES ({other}, 'New', 'new-cat') RETURNING id"
            )
        )
        assert new_id > await connection.scalar(
            text("SELECT max(id) FROM categories WHERE slug <> 'new-cat'")
        )


async def test_a_failed_seed_writes_nothing(engine, settings, monkeypatch):
    import db.seed

    real_copy = db.seed.copy_rows

    async def fail_on_orders(connection, table, *args, **kwargs):  # fault injection
        if table == "orders":
            raise RuntimeError("disk full")
        return await real_copy(connection, table, *args, **kwargs)

    monkeypatch.setattr(db.seed, "copy_rows", fail_on_orders)
    with pytest.raises(RuntimeError, match="disk full"):
        await seed_tenant(engine, settings, slug="doomed", seed=3, orders=200, end=END)
    assert await scalar(engine, "SELECT count(*) FROM tenants WHERE slug = 'doomed'") == 0
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM categories WHERE slug = 'outdoor-camping' "
            "AND tenant_id NOT IN (SELECT id FROM tenants)",
        )
        == 0
    )


async def test_concurrent_replace_seeds_do_not_deadlock(engine, settings):
    """Regression: both seeds deleted first and then asked for the load lock: deadlock."""
    import asyncio

    for slug in ("race-a", "race-b"):
        await seed_tenant(engine, settings, slug=slug, seed=8, orders=200, end=END)
    reports = await asyncio.gather(
        *(
            seed_tenant(engine, settings, slug=slug, seed=9, orders=300, end=END, replace=True)
            for slug in ("race-a", "race-b")
        )
    )
    assert [r.rows["orders"] for r in reports] == [300, 300]


async def test_concurrent_rule_computations_for_one_tenant_do_not_collide(engine, shop):
    """Regression (review): two runs for one tenant both inserted the same pairs."""
    import asyncio

    from db.rules import compute_rules

    async def compute() -> int:
        async with engine.begin() as connection:
            tenant = await connection.scalar(text("SELECT id FROM tenants WHERE slug = 'demo'"))
            return await compute_rules(connection, tenant_id=tenant)

    first, second = await asyncio.gather(compute(), compute())
    assert first == second == shop.bundle_rules
