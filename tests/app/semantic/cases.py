"""Semantic queries with the SQL a person would write for them by hand.

Each case's compiled query must return the same rows as its hand-written SQL on the seeded
shops of ``conftest.py`` (clock at 2026-11-22 12:00 UTC). The hand-written SQL is written
independently of the compiler: local-time comparisons instead of instants, ``avg`` instead of
ratios of sums, subqueries and ``min()`` instead of anti-joins. Used by
``test_correctness.py`` and by ``benchmarks/semantic.py`` (which times both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PAID = "o.status IN ('paid', 'shipped', 'delivered')"
LON = "(o.placed_at AT TIME ZONE 'Europe/London')"
KIR = "(o.placed_at AT TIME ZONE 'Pacific/Kiritimati')"
ITEMS = "order_items oi JOIN orders o ON o.id = oi.order_id"
TREE = (
    "WITH RECURSIVE tree AS (SELECT id, id AS top FROM categories WHERE parent_id IS NULL "
    "UNION ALL SELECT c.id, t.top FROM categories c JOIN tree t ON c.parent_id = t.id) "
)


def local(column: str, timezone: str = "Europe/London") -> str:
    return f"({column} AT TIME ZONE '{timezone}')"


def between(local: str, start: str, end: str) -> str:
    return f"{local} >= '{start}' AND {local} < '{end}'"


LAST_MONTH = between(LON, "2026-10-01", "2026-11-01")
LAST_QUARTER = between(LON, "2026-07-01", "2026-10-01")
YEAR_2025 = between(LON, "2025-01-01", "2026-01-01")
YTD = f"{LON} >= '2026-01-01' AND o.placed_at < '2026-11-22T12:00:00Z'"
# rolling windows end at the frozen clock's instant: 90 and 30 days of 24 hours before it
ROLLING_90_DAYS = "o.placed_at >= '2026-08-24T12:00:00Z' AND o.placed_at < '2026-11-22T12:00:00Z'"
EVENTS_LAST_30_DAYS = (
    "e.occurred_at >= '2026-10-23T12:00:00Z' AND e.occurred_at < '2026-11-22T12:00:00Z'"
)


@dataclass(frozen=True)
class Case:
    name: str
    query: dict[str, Any]
    sql: str
    shop: str = "london"
    ordered: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


CASES = [
    Case(
        "revenue_last_month",
        {"metrics": ["revenue"], "period": "last-month"},
        f"SELECT sum(o.total_amount) AS revenue FROM orders o WHERE {PAID} AND {LAST_MONTH}",
    ),
    Case(
        "revenue_by_channel_last_month",
        {"metrics": ["revenue"], "by": ["channel"], "period": "last-month"},
        f"SELECT o.channel, sum(o.total_amount) AS revenue FROM orders o "
        f"WHERE {PAID} AND {LAST_MONTH} GROUP BY o.channel",
    ),
    Case(
        "orders_by_category_last_quarter",
        {"metrics": ["orders"], "by": ["category"], "period": "last-quarter"},
        f"SELECT c.name AS category, count(DISTINCT o.id) AS orders FROM orders o "
        "JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id "
        f"JOIN categories c ON c.id = p.category_id WHERE {PAID} AND {LAST_QUARTER} "
        "GROUP BY c.id, c.name",
        tags=("fan-out",),
    ),
    Case(
        "fan_out_revenue_rating_views_by_category",
        {"metrics": ["revenue", "average_rating", "product_views"], "by": ["category"]},
        "SELECT * FROM (SELECT c.name AS category, "
        f"coalesce((SELECT sum(oi.line_total) FROM {ITEMS} JOIN products p ON p.id = "
        f"oi.product_id WHERE p.category_id = c.id AND {PAID}), 0) AS revenue, "
        "(SELECT round(avg(r.rating), 2) FROM reviews r JOIN products p ON p.id = r.product_id "
        "WHERE p.category_id = c.id) AS average_rating, "
        "(SELECT count(*) FROM product_events e JOIN products p ON p.id = e.product_id "
        "WHERE p.category_id = c.id AND e.event_type = 'view') AS product_views "
        "FROM categories c) t WHERE revenue > 0 OR average_rating IS NOT NULL OR product_views > 0",
        tags=("fan-out",),
    ),
    Case(
        "customers_by_department_ytd",
        {"metrics": ["customers"], "by": ["department"], "period": "ytd"},
        TREE + "SELECT d.name AS department, count(DISTINCT o.customer_id) AS customers "
        f"FROM {ITEMS} JOIN products p ON p.id = oi.product_id JOIN tree ON tree.id = "
        f"p.category_id JOIN categories d ON d.id = tree.top WHERE {PAID} AND {YTD} "
        "GROUP BY d.name",
        tags=("fan-out", "partial"),
    ),
    Case(
        "aov_by_channel_this_year",
        {"metrics": ["average_order_value"], "by": ["channel"], "period": "this-year"},
        "SELECT o.channel, round(avg(o.total_amount), 2) AS average_order_value FROM orders o "
        f"WHERE {PAID} AND {YTD} GROUP BY o.channel",
        tags=("ratio", "partial"),
    ),
    Case(
        "margin_pct_by_brand_2025",
        {"metrics": ["margin_pct"], "by": ["brand"], "period": "last-year"},
        "SELECT p.brand, round(100 * (CAST(sum(oi.line_total - oi.quantity * p.cost) AS numeric)"
        " / nullif(sum(oi.line_total), 0)), 2) AS margin_pct "
        f"FROM {ITEMS} JOIN products p ON p.id = oi.product_id "
        f"WHERE {PAID} AND p.cost IS NOT NULL AND {YEAR_2025} GROUP BY p.brand",
        tags=("ratio",),
    ),
    Case(
        "gross_margin_by_department_2025",
        {"metrics": ["gross_margin"], "by": ["department"], "period": "2025"},
        TREE + "SELECT d.name AS department, sum(oi.line_total - oi.quantity * p.cost) AS "
        f"gross_margin FROM {ITEMS} JOIN products p ON p.id = oi.product_id JOIN tree ON "
        "tree.id = p.category_id JOIN categories d ON d.id = tree.top "
        f"WHERE {PAID} AND p.cost IS NOT NULL AND {YEAR_2025} GROUP BY d.name",
    ),
    Case(
        "units_top_5_products_last_90_days_rolling",
        {"metrics": ["units"], "by": ["product"], "period": "last-90-days", "top": 5},
        "SELECT p.name AS product, p.sku, sum(oi.quantity) AS units "
        f"FROM {ITEMS} JOIN products p ON p.id = oi.product_id WHERE {PAID} AND "
        f"{ROLLING_90_DAYS} GROUP BY p.sku, p.name ORDER BY units DESC, product LIMIT 5",
        ordered=True,
        tags=("rolling",),
    ),
    Case(
        "units_top_5_products_previous_90_complete_days",
        {"metrics": ["units"], "by": ["product"], "period": "previous-90-days", "top": 5},
        "SELECT p.name AS product, p.sku, sum(oi.quantity) AS units "
        f"FROM {ITEMS} JOIN products p ON p.id = oi.product_id WHERE {PAID} AND "
        f"{between(LON, '2026-08-24', '2026-11-22')} GROUP BY p.sku, p.name "
        "ORDER BY units DESC, product LIMIT 5",
        ordered=True,
    ),
    Case(
        "new_customers_by_month_2025",
        {"metrics": ["new_customers"], "grain": "month", "period": "2025"},
        "WITH firsts AS (SELECT o.customer_id, min(o.placed_at) AS first_at FROM orders o "
        f"WHERE {PAID} AND o.customer_id IS NOT NULL GROUP BY o.customer_id) "
        "SELECT CAST(s.month AS date) AS month, count(f.customer_id) AS new_customers "
        "FROM generate_series(CAST('2025-01-01' AS date), CAST('2025-12-01' AS date), "
        "interval '1 month') AS s(month) LEFT JOIN firsts f ON "
        "date_trunc('month', f.first_at AT TIME ZONE 'Europe/London') = s.month "
        "GROUP BY s.month ORDER BY s.month",
        ordered=True,
    ),
    Case(
        "repeat_purchase_rate_this_year",
        {"metrics": ["repeat_purchase_rate"], "period": "this-year"},
        "WITH per AS (SELECT o.customer_id, count(*) AS n FROM orders o WHERE "
        f"{PAID} AND o.customer_id IS NOT NULL AND {YTD} GROUP BY o.customer_id) "
        "SELECT round(100 * (CAST(count(*) FILTER (WHERE n >= 2) AS numeric) / "
        "nullif(count(*), 0)), 2) AS repeat_purchase_rate FROM per",
        tags=("ratio", "partial"),
    ),
    Case(
        "refund_rate_by_channel",
        {"metrics": ["refund_rate"], "by": ["channel"]},
        "SELECT o.channel, round(100 * (CAST(count(*) FILTER (WHERE o.status = 'refunded') AS "
        "numeric) / nullif(count(*) FILTER (WHERE o.status IN ('paid', 'shipped', 'delivered', "
        "'refunded')), 0)), 2) AS refund_rate FROM orders o GROUP BY o.channel",
        tags=("ratio",),
    ),
    Case(
        "cancellation_rate_by_payment_method_2025",
        {"metrics": ["cancellation_rate"], "by": ["payment_method"], "period": "last-year"},
        "SELECT o.payment_method, round(100 * (CAST(count(*) FILTER (WHERE o.status = "
        "'cancelled') AS numeric) / nullif(count(*), 0)), 2) AS cancellation_rate FROM orders o "
        f"WHERE {YEAR_2025} GROUP BY o.payment_method",
        tags=("ratio",),
    ),
    Case(
        "average_rating_by_category_in_electronics",
        {
            "metrics": ["average_rating"],
            "by": ["category"],
            "filters": [{"dimension": "department", "values": ["Electronics"]}],
        },
        TREE + "SELECT c.name AS category, round(avg(r.rating), 2) AS average_rating "
        "FROM reviews r JOIN products p ON p.id = r.product_id JOIN categories c ON c.id = "
        "p.category_id JOIN tree ON tree.id = c.id JOIN categories d ON d.id = tree.top "
        "WHERE d.name = 'Electronics' GROUP BY c.id, c.name",
    ),
    Case(
        "reviews_by_month_2025",
        {"metrics": ["reviews"], "grain": "month", "period": "2025"},
        "SELECT CAST(s.month AS date) AS month, count(r.id) AS reviews "
        "FROM generate_series(CAST('2025-01-01' AS date), CAST('2025-12-01' AS date), "
        "interval '1 month') AS s(month) LEFT JOIN reviews r ON "
        "date_trunc('month', r.created_at AT TIME ZONE 'Europe/London') = s.month "
        "GROUP BY s.month ORDER BY s.month",
        ordered=True,
    ),
    Case(
        "conversion_rate_by_channel_last_30_days",
        {"metrics": ["conversion_rate"], "by": ["channel"], "period": "last-30-days"},
        "SELECT e.channel, round(100 * (CAST(count(DISTINCT e.session_ref) FILTER (WHERE "
        "e.event_type = 'purchase') AS numeric) / nullif(count(DISTINCT e.session_ref) FILTER "
        "(WHERE e.event_type = 'view'), 0)), 2) AS conversion_rate FROM product_events e "
        f"WHERE e.event_type IN ('view', 'purchase') AND {EVENTS_LAST_30_DAYS} "
        "GROUP BY e.channel",
        tags=("ratio", "rolling"),
    ),
    Case(
        "add_to_carts_by_brand_last_30_days",
        {"metrics": ["add_to_carts"], "by": ["brand"], "period": "last-30-days"},
        "SELECT p.brand, count(*) AS add_to_carts FROM product_events e JOIN products p ON "
        "p.id = e.product_id WHERE e.event_type = 'add_to_cart' AND "
        f"{EVENTS_LAST_30_DAYS} GROUP BY p.brand",
    ),
    Case(
        "stock_value_by_department",
        {"metrics": ["stock_value"], "by": ["department"], "period": "last-month"},
        TREE + "SELECT d.name AS department, sum(p.stock_quantity * p.cost) AS stock_value "
        "FROM products p JOIN tree ON tree.id = p.category_id JOIN categories d ON "
        "d.id = tree.top WHERE p.cost IS NOT NULL GROUP BY d.name",
    ),
    Case(
        "out_of_stock_products_by_category",
        {"metrics": ["out_of_stock_products"], "by": ["category"]},
        "SELECT c.name AS category, count(*) AS out_of_stock_products FROM products p "
        "JOIN categories c ON c.id = p.category_id WHERE p.is_active AND p.stock_quantity = 0 "
        "GROUP BY c.id, c.name",
    ),
    Case(
        "signups_by_customer_country_2025",
        {"metrics": ["signups"], "by": ["customer_country"], "period": "2025"},
        "SELECT cu.country AS customer_country, count(*) AS signups FROM customers cu WHERE "
        f"{between(local('cu.created_at'), '2025-01-01', '2026-01-01')} "
        "GROUP BY cu.country",
    ),
    Case(
        "revenue_by_shipping_country_named_countries",
        {
            "metrics": ["revenue"],
            "by": ["shipping_country"],
            "filters": [{"dimension": "shipping_country", "values": ["germany", "UK"]}],
            "period": "last-year",
        },
        f"SELECT o.shipping_country, sum(o.total_amount) AS revenue FROM orders o WHERE {PAID} "
        f"AND o.shipping_country IN ('DE', 'GB') AND {YEAR_2025} GROUP BY o.shipping_country",
    ),
    Case(
        "revenue_vip_by_channel",
        {
            "metrics": ["revenue"],
            "by": ["channel"],
            "filters": [{"dimension": "segment", "values": ["VIP customers"]}],
            "period": "ytd",
        },
        "SELECT o.channel, sum(o.total_amount) AS revenue FROM orders o JOIN customers cu ON "
        f"cu.id = o.customer_id WHERE {PAID} AND cu.segment = 'vip' AND {YTD} GROUP BY o.channel",
    ),
    Case(
        "revenue_empty_period",
        {"metrics": ["revenue", "orders"], "period": "2020"},
        "SELECT coalesce(sum(o.total_amount), 0) AS revenue, count(*) AS orders "
        f"FROM orders o WHERE {PAID} AND {between(LON, '2020-01-01', '2021-01-01')}",
        tags=("empty",),
    ),
    Case(
        "revenue_by_month_with_empty_months",
        {
            "metrics": ["revenue"],
            "grain": "month",
            "from_date": "2023-09-01",
            "to_date": "2024-01-31",
        },
        "SELECT CAST(s.month AS date) AS month, coalesce(sum(x.total_amount), 0) AS revenue, false "
        "AS partial FROM generate_series(CAST('2023-09-01' AS date), CAST('2024-01-01' AS date), "
        "interval '1 month') AS s(month) LEFT JOIN (SELECT o.total_amount, date_trunc('month', "
        f"{LON}) AS month FROM orders o WHERE {PAID}) x ON x.month = s.month "
        "GROUP BY s.month ORDER BY s.month",
        ordered=True,
        tags=("empty",),
    ),
    Case(
        "revenue_by_week_this_quarter_partial_weeks",
        {"metrics": ["revenue"], "grain": "week", "period": "this-quarter"},
        "SELECT CAST(s.week AS date) AS week, coalesce(sum(x.total_amount), 0) AS revenue, "
        "(s.week < '2026-10-01' OR s.week + interval '7 days' > '2026-11-22 12:00') AS partial "
        "FROM generate_series(CAST('2026-09-28' AS date), CAST('2026-11-16' AS date), "
        "interval '7 days') AS s(week) LEFT JOIN (SELECT o.total_amount, date_trunc('week', "
        f"{LON}) AS week FROM orders o WHERE {PAID} AND o.placed_at >= '2026-10-01T00:00:00+01:00' "
        "AND o.placed_at < '2026-11-22T12:00:00Z') x ON x.week = s.week "
        "GROUP BY s.week ORDER BY s.week",
        ordered=True,
        tags=("partial",),
    ),
    Case(
        "revenue_by_week_across_new_year",
        {
            "metrics": ["revenue"],
            "grain": "week",
            "from_date": "2025-12-22",
            "to_date": "2026-01-11",
        },
        f"SELECT CAST(date_trunc('week', {LON}) AS date) AS week, sum(o.total_amount) AS revenue "
        f"FROM orders o WHERE {PAID} AND {between(LON, '2025-12-22', '2026-01-12')} "
        "GROUP BY 1 ORDER BY 1",
        ordered=True,
        tags=("year-boundary",),
    ),
    Case(
        "kiritimati_revenue_by_day_previous_7_complete_days",
        {"metrics": ["revenue"], "grain": "day", "period": "previous-7-days"},
        f"SELECT CAST(s.day AS date) AS day, coalesce(sum(x.total_amount), 0) AS revenue "
        "FROM generate_series(CAST('2026-11-16' AS date), CAST('2026-11-22' AS date), "
        "interval '1 day') AS s(day) LEFT JOIN (SELECT o.total_amount, "
        f"CAST({KIR} AS date) AS day FROM orders o WHERE {PAID}) x ON x.day = s.day "
        "GROUP BY s.day ORDER BY s.day",
        shop="kiritimati",
        ordered=True,
        tags=("timezone",),
    ),
    Case(
        "kiritimati_orders_by_hour_last_month",
        {"metrics": ["orders"], "grain": "hour", "period": "last-month"},
        f"SELECT CAST(extract(hour FROM {KIR}) AS int) AS hour, count(*) AS orders FROM orders o "
        f"WHERE {PAID} AND {between(KIR, '2026-10-01', '2026-11-01')} GROUP BY 1 ORDER BY 1",
        shop="kiritimati",
        ordered=True,
        tags=("timezone",),
    ),
    Case(
        "kiritimati_revenue_by_weekday_from_sunday_2025",
        {"metrics": ["revenue"], "grain": "weekday", "period": "2025"},
        f"SELECT to_char({KIR}, 'FMDay') AS weekday, sum(o.total_amount) AS revenue "
        f"FROM orders o WHERE {PAID} AND {between(KIR, '2025-01-01', '2026-01-01')} "
        f"GROUP BY 1 ORDER BY min(extract(dow FROM {KIR}))",
        shop="kiritimati",
        ordered=True,
        tags=("timezone", "week-start"),
    ),
    Case(
        "kiritimati_orders_by_sunday_week_last_quarter",
        {"metrics": ["orders"], "grain": "week", "period": "last-quarter"},
        "SELECT CAST(s.week AS date) AS week, count(x.id) AS orders, "
        "(s.week < '2026-07-01' OR s.week + interval '7 days' > '2026-10-01') AS partial "
        "FROM generate_series(CAST('2026-06-28' AS date), CAST('2026-09-27' AS date), "
        "interval '7 days') AS s(week) LEFT JOIN (SELECT o.id, CAST(date_trunc('week', "
        f"{KIR} + interval '1 day') - interval '1 day' AS date) AS week FROM orders o WHERE "
        f"{PAID} AND {between(KIR, '2026-07-01', '2026-10-01')}) x ON x.week = s.week "
        "GROUP BY s.week ORDER BY s.week",
        shop="kiritimati",
        ordered=True,
        tags=("timezone", "week-start", "partial"),
    ),
    Case(
        "revenue_this_month_vs_previous_like_for_like",
        {"metrics": ["revenue"], "period": "this-month", "compare": "previous"},
        "SELECT cur AS revenue, prev AS revenue_previous, cur - prev AS revenue_change, "
        "round(CAST(100 * (cur - prev) AS numeric) / nullif(abs(prev), 0), 2) AS "
        "revenue_change_pct FROM (SELECT coalesce(sum(o.total_amount) FILTER (WHERE "
        f"{LON} >= '2026-11-01' AND {LON} < '2026-11-22 12:00'), 0) AS cur, "
        f"coalesce(sum(o.total_amount) FILTER (WHERE {LON} >= '2026-10-01' AND {LON} < "
        f"'2026-10-22 12:00'), 0) AS prev FROM orders o WHERE {PAID}) t",
        tags=("partial", "compare"),
    ),
    Case(
        "revenue_by_month_last_quarter_vs_year_ago",
        {"metrics": ["revenue"], "grain": "month", "period": "last-quarter", "compare": "year"},
        "WITH cur AS (SELECT date_trunc('month', " + LON + ") AS month, sum(o.total_amount) AS v "
        f"FROM orders o WHERE {PAID} AND {LAST_QUARTER} GROUP BY 1), "
        "prev AS (SELECT date_trunc('month', " + LON + ") + interval '1 year' AS month, "
        f"sum(o.total_amount) AS v FROM orders o WHERE {PAID} AND "
        f"{between(LON, '2025-07-01', '2025-10-01')} GROUP BY 1) "
        "SELECT CAST(s.month AS date) AS month, coalesce(cur.v, 0) AS revenue, "
        "coalesce(prev.v, 0) AS revenue_previous FROM generate_series(CAST('2026-07-01' AS date),"
        " CAST('2026-09-01' AS date), interval '1 month') AS s(month) LEFT JOIN cur ON "
        "cur.month = s.month LEFT JOIN prev ON prev.month = s.month ORDER BY 1",
        ordered=True,
        tags=("compare",),
    ),
    Case(
        "orders_by_status_2025_every_status",
        {"metrics": ["orders"], "by": ["status"], "period": "2025"},
        f"SELECT o.status, count(*) AS orders FROM orders o WHERE {YEAR_2025} GROUP BY o.status",
    ),
    Case(
        "discount_total_by_channel_last_month",
        {"metrics": ["discount_total"], "by": ["channel"], "period": "last-month"},
        "WITH od AS (SELECT o.channel, sum(o.discount_amount) AS v FROM orders o WHERE "
        f"{PAID} AND {LAST_MONTH} GROUP BY o.channel), ld AS (SELECT o.channel, "
        f"sum(oi.discount_amount) AS v FROM {ITEMS} WHERE {PAID} AND {LAST_MONTH} GROUP BY "
        "o.channel) SELECT od.channel, round(coalesce(od.v, 0) + coalesce(ld.v, 0), 2) AS "
        "discount_total FROM od JOIN ld ON ld.channel = od.channel",
    ),
    Case(
        "average_delivery_time_by_shipping_country_2025",
        {"metrics": ["average_delivery_time"], "by": ["shipping_country"], "period": "2025"},
        "SELECT o.shipping_country, round(CAST(sum(extract(epoch FROM o.delivered_at - "
        "o.placed_at) / 86400) AS numeric) / nullif(count(*), 0), 2) AS average_delivery_time "
        f"FROM orders o WHERE o.delivered_at IS NOT NULL AND {YEAR_2025} "
        "GROUP BY o.shipping_country",
        tags=("ratio",),
    ),
    Case(
        "revenue_not_on_web_last_month",
        {
            "metrics": ["revenue"],
            "by": ["channel"],
            "filters": [{"dimension": "channel", "op": "not_in", "values": ["website"]}],
            "period": "last-month",
        },
        f"SELECT o.channel, sum(o.total_amount) AS revenue FROM orders o WHERE {PAID} AND "
        f"o.channel <> 'web' AND {LAST_MONTH} GROUP BY o.channel",
    ),
    Case(
        "revenue_top_10_customers_ytd_guests_left_out",
        {"metrics": ["revenue"], "by": ["customer"], "period": "ytd", "top": 10},
        "SELECT nullif(concat_ws(' ', cu.first_name, cu.last_name), '') AS customer, "
        "cu.customer_ref, sum(o.total_amount) AS revenue FROM orders o JOIN customers cu ON "
        f"cu.id = o.customer_id WHERE {PAID} AND {YTD} GROUP BY cu.customer_ref, 1 "
        "ORDER BY revenue DESC, customer LIMIT 10",
        ordered=True,
    ),
    Case(
        "revenue_by_signup_year_guests_left_out",
        {"metrics": ["revenue"], "by": ["signed_up"], "grain": "year"},
        "SELECT CAST(date_trunc('year', cu.created_at AT TIME ZONE 'Europe/London') AS date) "
        "AS signed_up_year, sum(o.total_amount) AS revenue FROM orders o JOIN customers cu "
        f"ON cu.id = o.customer_id WHERE {PAID} GROUP BY 1",
    ),
    Case(
        "orders_this_year_from_2025_signups",
        {
            "metrics": ["orders"],
            "filters": [{"dimension": "signed_up", "values": ["2025"]}],
            "period": "this-year",
        },
        "SELECT count(*) AS orders FROM orders o JOIN customers cu ON cu.id = o.customer_id "
        f"WHERE {PAID} AND {YTD} AND "
        f"{between(local('cu.created_at'), '2025-01-01', '2026-01-01')}",
    ),
    Case(
        "revenue_in_camping_and_subcategories_this_year",
        {
            "metrics": ["revenue"],
            "by": ["category"],
            "filters": [{"dimension": "category", "values": ["camping"]}],
            "period": "this-year",
        },
        f"SELECT c.name AS category, sum(oi.line_total) AS revenue FROM {ITEMS} JOIN products p "
        "ON p.id = oi.product_id JOIN categories c ON c.id = p.category_id WHERE "
        f"{PAID} AND {YTD} AND (c.slug = 'camping' OR c.parent_id IN (SELECT id FROM categories "
        "WHERE slug = 'camping')) GROUP BY c.id, c.name",
    ),
    Case(
        "customers_by_channel_last_month_vs_previous",
        {
            "metrics": ["customers"],
            "by": ["channel"],
            "period": "last-month",
            "compare": "previous",
        },
        "SELECT o.channel, count(DISTINCT o.customer_id) FILTER (WHERE "
        f"{LAST_MONTH}) AS customers, count(DISTINCT o.customer_id) FILTER (WHERE "
        f"{between(LON, '2026-09-01', '2026-10-01')}) AS customers_previous FROM orders o WHERE "
        f"{PAID} AND {between(LON, '2026-09-01', '2026-11-01')} GROUP BY o.channel",
        tags=("compare",),
    ),
    Case(
        "revenue_bottom_3_brands_2025",
        {"metrics": ["revenue"], "by": ["brand"], "period": "last-year", "bottom": 3},
        f"SELECT p.brand, sum(oi.line_total) AS revenue FROM {ITEMS} JOIN products p ON p.id = "
        f"oi.product_id WHERE {PAID} AND {YEAR_2025} GROUP BY p.brand ORDER BY revenue, "
        "p.brand LIMIT 3",
        ordered=True,
    ),
    Case(
        "revenue_by_region_in_great_britain",
        {
            "metrics": ["revenue"],
            "by": ["shipping_region"],
            "filters": [{"dimension": "shipping_country", "values": ["United Kingdom"]}],
            "period": "ytd",
        },
        "SELECT o.shipping_region, sum(o.total_amount) AS revenue FROM orders o WHERE "
        f"{PAID} AND o.shipping_country = 'GB' AND {YTD} GROUP BY o.shipping_region",
    ),
    Case(
        "placed_orders_by_status_this_quarter",
        {"metrics": ["placed_orders"], "by": ["status"], "period": "this-quarter"},
        "SELECT o.status, count(*) AS placed_orders FROM orders o WHERE "
        f"{LON} >= '2026-10-01' AND o.placed_at < '2026-11-22T12:00:00Z' GROUP BY o.status",
        tags=("partial",),
    ),
    Case(
        "line_discounts_by_category_last_quarter",
        {"metrics": ["line_discounts"], "by": ["category"], "period": "last-quarter"},
        f"SELECT c.name AS category, sum(oi.discount_amount) AS line_discounts FROM {ITEMS} "
        "JOIN products p ON p.id = oi.product_id JOIN categories c ON c.id = p.category_id "
        f"WHERE {PAID} AND {LAST_QUARTER} GROUP BY c.id, c.name",
    ),
    Case(
        "revenue_by_channel_and_month_q4_2025",
        {"metrics": ["revenue", "units"], "by": ["channel"], "grain": "month", "period": "q4-2025"},
        "WITH r AS (SELECT o.channel, CAST(date_trunc('month', " + LON + ") AS date) AS month, "
        "sum(o.total_amount) AS revenue FROM orders o WHERE "
        f"{PAID} AND {between(LON, '2025-10-01', '2026-01-01')} GROUP BY 1, 2), u AS (SELECT "
        f"o.channel, CAST(date_trunc('month', {LON}) AS date) AS month, sum(oi.quantity) AS "
        f"units FROM {ITEMS} WHERE {PAID} AND {between(LON, '2025-10-01', '2026-01-01')} "
        "GROUP BY 1, 2) SELECT r.channel, r.month, r.revenue, u.units FROM r JOIN u "
        "ON u.channel = r.channel AND u.month = r.month",
        tags=("grain",),
    ),
    Case(
        "revenue_and_order_value_by_channel_count_order_totals",
        {
            "metrics": ["revenue", "average_order_value"],
            "by": ["channel"],
            "period": "2025",
        },
        "SELECT o.channel, sum(o.total_amount) AS revenue, round(avg(o.total_amount), 2) AS "
        f"average_order_value FROM orders o WHERE {PAID} AND {YEAR_2025} GROUP BY o.channel",
        tags=("grain",),
    ),
    Case(
        "revenue_by_channel_filtered_by_department_counts_order_lines",
        {
            "metrics": ["revenue"],
            "by": ["channel"],
            "filters": [{"dimension": "department", "values": ["Electronics"]}],
            "period": "2025",
        },
        TREE + "SELECT o.channel, sum(oi.line_total) AS revenue "
        f"FROM {ITEMS} JOIN products p ON p.id = oi.product_id JOIN tree ON tree.id = "
        "p.category_id JOIN categories d ON d.id = tree.top WHERE d.name = 'Electronics' AND "
        f"{PAID} AND {YEAR_2025} GROUP BY o.channel",
        tags=("grain",),
    ),
    Case(
        "revenue_share_by_payment_method_2025",
        {
            "metrics": ["revenue"],
            "by": ["payment_method"],
            "period": "2025",
            "share": True,
            "decimals": 1,
        },
        "SELECT o.payment_method, round(sum(o.total_amount), 1) AS revenue, round(100 * "
        "sum(o.total_amount) / sum(sum(o.total_amount)) OVER (), 1) AS revenue_share_pct "
        f"FROM orders o WHERE {PAID} AND {YEAR_2025} GROUP BY o.payment_method",
        tags=("share",),
    ),
    Case(
        "revenue_and_reviews_by_product_fan_out",
        {"metrics": ["revenue", "reviews"], "by": ["brand"], "period": "2025"},
        "WITH rev AS (SELECT p.brand, sum(oi.line_total) AS revenue FROM "
        f"{ITEMS} JOIN products p ON p.id = oi.product_id WHERE {PAID} AND {YEAR_2025} "
        "GROUP BY p.brand), rv AS (SELECT p.brand, count(*) AS reviews FROM reviews r "
        "JOIN products p ON p.id = r.product_id WHERE (r.created_at AT TIME ZONE "
        "'Europe/London') >= '2025-01-01' AND (r.created_at AT TIME ZONE 'Europe/London') < "
        "'2026-01-01' GROUP BY p.brand) SELECT coalesce(rev.brand, rv.brand) AS brand, "
        "coalesce(rev.revenue, 0) AS revenue, coalesce(rv.reviews, 0) AS reviews FROM rev "
        "FULL JOIN rv ON rv.brand = rev.brand",
        tags=("fan-out",),
    ),
]
